package engine

import (
	"os"
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
	if os.Getenv("UPDATE_DOCS") != "" {
		if err := os.WriteFile("../docs/reference.md", []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile("../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != doc {
		t.Fatal("docs/reference.md is stale: run `make docs`")
	}
}
