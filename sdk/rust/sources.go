// Package rust exposes the Rust guest SDK's source files to Go tools, so
// that a scaffold (conveyor-wasm plugin new --lang rust) can vendor the
// crate into a new project. The SDK itself is the Rust crate in src/; see
// README.md.
package rust

import "embed"

// Sources holds the SDK crate (src/*.rs, crate root src/lib.rs) and
// build.sh, at those paths.
//
//go:embed src/*.rs build.sh
var Sources embed.FS
