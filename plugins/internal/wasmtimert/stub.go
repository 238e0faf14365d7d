//go:build !(cgo && wasmtime)

package wasmtimert

import (
	"context"
	"errors"

	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// Available reports whether wasmtime is compiled into this binary.
const Available = false

// New reports that wasmtime is not compiled in.
func New(context.Context, wasmrt.Config) (wasmrt.Runtime, error) {
	return nil, errors.New("runtime wasmtime is not compiled into this binary: build it with cgo (CGO_ENABLED=1 and a C compiler) and -tags wasmtime")
}
