// Command wasiaccess is a test guest that uses WASI capabilities named by
// each record's payload: "env:NAME" outputs the environment variable NAME,
// "file:PATH" the contents of the file PATH, "write:PATH" tries to create
// PATH. Errors are output as "error: ..." payloads. Reading files imports
// path_open, so the host loads it only with directories granted.
package main

import (
	"os"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

func init() {
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		for i := range in {
			p := string(in[i].Payload)
			var v string
			switch {
			case strings.HasPrefix(p, "env:"):
				v = os.Getenv(p[len("env:"):])
			case strings.HasPrefix(p, "file:"):
				b, err := os.ReadFile(p[len("file:"):])
				v = string(b)
				if err != nil {
					v = "error: " + err.Error()
				}
			case strings.HasPrefix(p, "write:"):
				v = "written"
				if err := os.WriteFile(p[len("write:"):], []byte("x"), 0o644); err != nil {
					v = "error: " + err.Error()
				}
			}
			out = append(out, abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: abi.Record{Payload: []byte(v)}})
		}
		return out
	}
}

func main() {}
