package conveyortest_test

import (
	"bytes"
	"fmt"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

// A plugin's test runs its registered transform natively. Here the
// transform is registered inline; in a plugin it is registered by the
// plugin's own init function.
func Example() {
	conveyor.RegisterTransform(func(r conveyor.Record, out conveyor.Emitter) error {
		if len(r.Payload) == 0 {
			return fmt.Errorf("record %s: empty payload", r.Key)
		}
		r.Payload = bytes.ToUpper(r.Payload)
		out.Emit(r)
		return nil
	})
	p, err := conveyortest.New(conveyortest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	outs, err := p.Process(
		conveyor.Record{Key: "a", Payload: []byte("hello")},
		conveyor.Record{Key: "b"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range outs {
		if o.Err != "" {
			fmt.Printf("input %d failed: %s\n", o.Input, o.Err)
			continue
		}
		fmt.Printf("input %d -> %s %s\n", o.Input, o.Record.Key, o.Record.Payload)
	}
	// Output:
	// input 0 -> a HELLO
	// input 1 failed: record b: empty payload
}
