// Command conveyor-wasm runs, validates and draws conveyor-wasm pipelines
// and tests Wasm plugins.
package main

import "os"

func main() {
	os.Exit(doMain(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
