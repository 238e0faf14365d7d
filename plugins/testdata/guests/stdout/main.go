// Command stdout is a test guest that writes a line to stdout and to stderr
// for every record, and copies it.
package main

import (
	"fmt"
	"os"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		for i := range in {
			fmt.Printf("stdout: record %s\n", in[i].Key)
			fmt.Fprintf(os.Stderr, "stderr: record %s\n", in[i].Key)
		}
		return rawabi.Noop(in, out)
	}
}

func main() {}
