package connectors

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOverlaps(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(data, "out.jsonl")
	if err := os.WriteFile(out, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link") // link -> data
	if err := os.Symlink(data, link); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	hard := filepath.Join(dir, "hard.jsonl") // a second name of out
	if err := os.Link(out, hard); err != nil {
		t.Skipf("hard links: %v", err)
	}
	tests := []struct {
		name, glob, path string
		want             bool
	}{
		{"same plain path", out, out, true},
		{"other plain path", out, filepath.Join(data, "other.jsonl"), false},
		{"plain path, not cleaned", filepath.Join(dir, "data", ".", "x", "..", "out.jsonl"), out, true},
		{"plain path that does not exist yet", filepath.Join(data, "new.jsonl"), filepath.Join(data, "new.jsonl"), true},
		{"plain path through a link", filepath.Join(link, "out.jsonl"), out, true},
		{"output not created yet, through a link", filepath.Join(link, "new.jsonl"), filepath.Join(data, "new.jsonl"), true},
		{"hard link", hard, out, true},
		{"glob matches", filepath.Join(data, "*.jsonl"), out, true},
		{"glob matches an output not created yet", filepath.Join(data, "*.jsonl"), filepath.Join(data, "new.jsonl"), true},
		{"glob does not match", filepath.Join(data, "*.csv"), out, false},
		{"glob in another directory", filepath.Join(dir, "*.jsonl"), out, false},
		{"glob does not cross directories", filepath.Join(dir, "*"), out, false},
		{"glob over a link to the output's directory", filepath.Join(link, "*.jsonl"), out, true},
		{"glob over the real directory, output through a link", filepath.Join(data, "*.jsonl"), filepath.Join(link, "out.jsonl"), true},
		{"glob with a wildcard directory", filepath.Join(dir, "*", "out.jsonl"), out, true},
		{"class glob", filepath.Join(data, "[o]ut.jsonl"), out, true},
		{"question mark", filepath.Join(data, "ou?.jsonl"), out, true},
		{"malformed glob matches nothing", filepath.Join(data, "[.jsonl"), out, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Overlaps(tt.glob, tt.path); got != tt.want {
				t.Fatalf("Overlaps(%q, %q) = %v, want %v", tt.glob, tt.path, got, tt.want)
			}
		})
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, x, y string
		want       bool
	}{
		{"equal", a, a, true},
		{"dot dot", filepath.Join(dir, "sub", "..", "a"), a, true},
		{"different", a, filepath.Join(dir, "b"), false},
		{"neither exists, equal", filepath.Join(dir, "n", "x"), filepath.Join(dir, "n", "x"), true},
		{"neither exists, different", filepath.Join(dir, "n", "x"), filepath.Join(dir, "n", "y"), false},
		// A sink path holding glob characters is a literal name.
		{"brackets are literal", filepath.Join(dir, "[a]"), a, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameFile(tt.x, tt.y); got != tt.want {
				t.Fatalf("SameFile(%q, %q) = %v, want %v", tt.x, tt.y, got, tt.want)
			}
		})
	}
}

func TestPathUser_Paths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.FromSlash("/pipelines/p1")
	tests := []struct {
		name                string
		cfg                 PathUser
		baseDir             string
		wantReads, wantWrit []string
	}{
		{"sink relative", &FileSinkConfig{Path: "out/../o.jsonl"}, base, nil, []string{filepath.Join(base, "o.jsonl")}},
		{"sink absolute", &FileSinkConfig{Path: filepath.FromSlash("/var/o.jsonl")}, base, nil, []string{filepath.FromSlash("/var/o.jsonl")}},
		{"sink without a base dir", &FileSinkConfig{Path: "o.jsonl"}, "", nil, []string{filepath.Join(wd, "o.jsonl")}},
		{"source file", &FileSourceConfig{Path: "in.jsonl"}, base, []string{filepath.Join(base, "in.jsonl")}, nil},
		{"source glob", &FileSourceConfig{Path: "./logs/*.jsonl"}, base, []string{filepath.Join(base, "logs", "*.jsonl")}, nil},
		{"source stdin", &FileSourceConfig{Path: "-"}, base, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := tt.cfg.Paths(tt.baseDir)
			if !reflect.DeepEqual(r, tt.wantReads) || !reflect.DeepEqual(w, tt.wantWrit) {
				t.Fatalf("Paths = %q, %q; want %q, %q", r, w, tt.wantReads, tt.wantWrit)
			}
		})
	}
}

// TestPathUser_Registered: the file connectors' configs, as the registry
// makes them, say which paths they use.
func TestPathUser_Registered(t *testing.T) {
	for _, k := range []struct {
		kind Kind
		typ  string
	}{{KindSource, "file"}, {KindSink, "file"}} {
		spec, ok := Lookup(k.kind, k.typ)
		if !ok {
			t.Fatalf("%s %q not registered", k.kind, k.typ)
		}
		if _, ok := spec.NewConfig().(PathUser); !ok {
			t.Errorf("%s %q config is not a PathUser", k.kind, k.typ)
		}
	}
}
