// Command noop is a test guest that returns every input record unchanged.
package main

import _ "github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"

func main() {}
