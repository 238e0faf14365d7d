//go:build unix

package plugins

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCacheDir_Private(t *testing.T) {
	base := t.TempDir()
	mine := filepath.Join(base, "mine")
	if got := cacheDir(mine, "wazero"); got != mine {
		t.Fatalf("cacheDir = %q", got)
	}
	if fi, _ := os.Stat(mine); fi.Mode().Perm() != 0o700 {
		t.Fatalf("created with mode %v, want 0700", fi.Mode().Perm())
	}
	shared := filepath.Join(base, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	if got := cacheDir(shared, "wazero"); got != "" {
		t.Fatalf("a world-writable cache dir is used: %q", got)
	}
	if got := cacheDir("off", "wazero"); got != "" {
		t.Fatalf("off = %q", got)
	}
}
