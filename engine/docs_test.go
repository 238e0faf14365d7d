package engine

import (
	"strings"
	"testing"
)

func TestWriteDocs_CoversEveryKey(t *testing.T) {
	var b strings.Builder
	WriteDocs(&b)
	doc := b.String()
	for _, want := range []string{"## stages[]", "`service_name`", "## source `file`", "`key_field`", "## sink `file`", "`max_memory_pages`", "| `batch_size` | int | `1024` |"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs missing %q", want)
		}
	}
}
