package plugins

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad_GrantsRequiredForFiles(t *testing.T) {
	_, err := Load(context.Background(), Options{Name: "wasiaccess", Wasm: guest(t, "wasiaccess"), CacheDir: testCacheDir})
	if err == nil || !strings.Contains(err.Error(), "path_open is not allowed: filesystem access is not granted") {
		t.Fatalf("err = %v, want path_open refused", err)
	}
}

func TestPlugin_Process_Grants(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lookup.txt"), []byte("granted content"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := loadGuest(t, "wasiaccess", Options{Grants: Grants{
		Env:  map[string]string{"REGION": "eu-west"},
		Dirs: map[string]string{"/data": dir},
	}})
	out, err := p.Process(context.Background(), recs("env:REGION", "env:HOME", "file:/data/lookup.txt",
		"file:"+filepath.Join(dir, "lookup.txt"), "write:/data/new.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(out))
	for i, o := range out {
		got[i] = string(o.Record.Payload)
	}
	if got[0] != "eu-west" || got[1] != "" || got[2] != "granted content" {
		t.Fatalf("env/file results = %q", got)
	}
	if !strings.HasPrefix(got[3], "error: ") {
		t.Fatalf("host path outside the mount readable: %q", got[3])
	}
	if !strings.HasPrefix(got[4], "error: ") {
		t.Fatalf("write to a read-only mount succeeded: %q", got[4])
	}
	if _, err := os.Stat(filepath.Join(dir, "new.txt")); err == nil {
		t.Fatal("guest created a file on the host")
	}
}

func TestPlugin_Process_NoGrantsNoEnv(t *testing.T) {
	t.Setenv("CONVEYOR_SECRET", "host-only")
	// A guest without path_* imports loads with no grants and sees no host
	// environment.
	p, _ := loadGuest(t, "hostcalls", Options{Config: map[string]string{"prefix": ""}})
	if len(p.Info().Problems) != 0 {
		t.Fatalf("problems: %v", p.Info().Problems)
	}
	q, _ := loadGuest(t, "wasiaccess", Options{Grants: Grants{Dirs: map[string]string{"/data": t.TempDir()}}})
	out, err := q.Process(context.Background(), recs("env:CONVEYOR_SECRET"), nil)
	if err != nil || string(out[0].Record.Payload) != "" {
		t.Fatalf("guest saw the host environment: %v %q", err, out[0].Record.Payload)
	}
}
