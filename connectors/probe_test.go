//go:build unix

package connectors

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func probe(t *testing.T, kind Kind, typ string, cfg any, env Env) error {
	t.Helper()
	spec, ok := Lookup(kind, typ)
	if !ok {
		t.Fatalf("no %s %q", kind, typ)
	}
	return ProbeSpec(spec, cfg, env)
}

func TestProbe_FileSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte("{}\n"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o644))
	cases := []struct {
		path, want string // want: "" for no error, else a substring
	}{
		{"a.jsonl", ""},
		{"-", ""},
		{"*.jsonl", ""},
		{"fifo", ""},
		{"missing.jsonl", "no such file"},
		{"*.csv", "matches no file"},
		{"sub", "is a directory"},
		{"[", "bad glob"},
	}
	for _, c := range cases {
		cfg := &FileSourceConfig{Path: c.path, Codec: codecJSONLines, MaxLineBytes: 1 << 10}
		err := probe(t, KindSource, "file", cfg, Env{BaseDir: dir})
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("path %q: got %v, want %q", c.path, err, c.want)
		}
	}
}

func TestProbe_FileSink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, []byte("x\n"), 0o644))
	cases := []struct {
		path, want string
	}{
		{"out.jsonl", ""},
		{"new/deeper/out.jsonl", ""},
		{"file", ""},                                      // exists: writable, not truncated
		{".", "is a directory"},                           // the output is a directory
		{"file/out.jsonl", "file is not a directory"},     // under a regular file
		{"file/a/b/out.jsonl", "file is not a directory"}, // deeper under it
	}
	for _, c := range cases {
		cfg := &FileSinkConfig{Path: c.path, Format: FormatPayload, Sync: SyncNone}
		err := probe(t, KindSink, "file", cfg, Env{BaseDir: dir})
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("path %q: got %v, want %q", c.path, err, c.want)
		}
	}
	// Nothing was created or changed.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("probe left %v", entries)
	}
	if b, _ := os.ReadFile(file); string(b) != "x\n" {
		t.Errorf("probe changed the file: %q", b)
	}
}

func TestProbe_StaticLookup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "t.jsonl"), []byte(`{"id":1,"tier":"gold"}`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte("{\"id\":1}\nnot json\n"), 0o644))
	cases := []struct {
		name   string
		cfg    *StaticLookupConfig
		fields [][]string
		want   string
	}{
		{"ok", &StaticLookupConfig{Path: "t.jsonl"}, [][]string{{"id"}}, ""},
		{"missing table", &StaticLookupConfig{Path: "none.jsonl"}, nil, "no such file"},
		{"malformed row", &StaticLookupConfig{Path: "bad.jsonl"}, nil, "bad.jsonl:2: malformed JSON"},
		{"field in no row", &StaticLookupConfig{Path: "t.jsonl"}, [][]string{{"user_id"}}, `none of the table's 1 rows has "user_id"`},
		{"not indexed", &StaticLookupConfig{Path: "t.jsonl", Index: []string{"id"}}, [][]string{{"tier"}}, `field "tier" is not indexed`},
		{"empty rows", &StaticLookupConfig{Rows: []map[string]any{}}, [][]string{{"id"}}, ""},
	}
	for _, c := range cases {
		err := probe(t, KindLookup, "static", c.cfg, Env{BaseDir: dir, LookupFields: c.fields})
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestCanWrite_StateDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	for path, want := range map[string]string{
		dir:                          "",
		filepath.Join(dir, "a", "b"): "",
		file:                         "is not a directory",
		filepath.Join(file, "state"): "is not a directory",
	} {
		err := CanWrite(path, true)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", path, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); err == nil {
		t.Error("CanWrite created a directory")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
