//go:build !(cgo && wasmtime)

package wasmtimert

import (
	"context"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

func TestNew_NotCompiledIn(t *testing.T) {
	if Available {
		t.Fatal("Available in a build without wasmtime")
	}
	_, err := New(context.Background(), wasmrt.Config{})
	if err == nil || !strings.Contains(err.Error(), "-tags wasmtime") {
		t.Fatalf("err = %v, want one that says how to build with wasmtime", err)
	}
}
