package rust_test

import (
	"io/fs"
	"testing"

	rust "github.com/conveyor-etl/conveyor-wasm/sdk/rust"
)

func TestSources_CrateRoot(t *testing.T) {
	b, err := fs.ReadFile(rust.Sources, "src/lib.rs")
	if err != nil || len(b) == 0 {
		t.Fatalf("src/lib.rs: %v", err)
	}
	for _, f := range []string{"src/frame.rs", "src/rt.rs", "src/host.rs", "src/testing.rs", "build.sh"} {
		if _, err := fs.Stat(rust.Sources, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
