package pipetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Unknown keys anywhere in a test file, steps included, are reported at
// their line, in the file's terms, with the valid keys and the closest.
func TestLoad_UnknownKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "p_test.yaml")
	text := `cases:
  - name: a
    inputs: {in: [{payload: 1, kye: x}]}
    expect: {out: {cont: 1, records: [{paylod: 1}]}}
    dead_letters: [{reason: x}]
  - name: b
    steps: [{advanc: 1s}]
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{
		`p_test.yaml:3: unknown key "kye" in an input record (want payload, key, metadata, event_time or file) (did you mean "key"?)`,
		`p_test.yaml:4: unknown key "cont" in a sink's expectations (want count, records, ordered, contains or assert) (did you mean "count"?)`,
		`p_test.yaml:4: unknown key "paylod" in an expected record (want payload, key, metadata or event_time) (did you mean "payload"?)`,
		`p_test.yaml:5: unknown key "reason" in a dead-letter expectation (want reason_contains, stage, payload or count)`,
		`p_test.yaml:7: unknown key "advanc" in a step (want source, partition, records, watermark, idle, end, advance, expect or dead_letters) (did you mean "advance"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "pipetest.") {
		t.Errorf("Go type names in the message:\n%v", err)
	}
}
