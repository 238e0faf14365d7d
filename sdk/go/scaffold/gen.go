//go:build ignore

// gen copies the sources a scaffolded plugin project needs into _sdk, so
// that package scaffold can embed them: the Go SDK with package abi (as a
// local module github.com/conveyor-etl/conveyor-wasm), the C header and the
// Rust crate. Run by `go generate ./sdk/go/scaffold`; TestEmbedded_UpToDate
// fails when the copy is stale.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/conveyor-etl/conveyor-wasm/sdk/go/scaffold"
)

func main() {
	root := filepath.Join("..", "..", "..")
	if err := os.RemoveAll("_sdk"); err != nil {
		log.Fatal(err)
	}
	files, err := scaffold.SourceFiles(root)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		dst := filepath.Join("_sdk", filepath.FromSlash(f))
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			log.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
