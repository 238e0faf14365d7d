// Command noop is a conveyor-wasm plugin that returns every record unchanged.
// Benchmarks use it to measure the cost of the plugin boundary itself.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o noop.wasm .
package main

import conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"

func init() { conveyor.RegisterTransform(noop) }

func main() {}

func noop(r conveyor.Record, out conveyor.Emitter) error {
	out.Emit(r)
	return nil
}
