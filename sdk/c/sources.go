// Package c exposes the C guest SDK to Go tools, so that a scaffold
// (conveyor-wasm plugin new --lang c) can vendor the header into a new
// project. The SDK itself is the single header conveyor.h; see README.md.
package c

import _ "embed"

// Header is conveyor.h.
//
//go:embed conveyor.h
var Header []byte
