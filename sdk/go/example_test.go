package conveyor_test

import (
	"errors"
	"fmt"
	"strings"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

// A plugin registers its transform from init. This one splits a payload of
// comma-separated words into one record per word, tags each with its
// position, and rejects empty payloads. It runs here natively through
// conveyortest; compiled with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared
// the same code runs inside the conveyor-wasm host.
func Example() {
	conveyor.OnInit(func() error {
		if _, ok := conveyor.Config("tag"); !ok {
			return errors.New(`config "tag" is required`)
		}
		return nil
	})
	conveyor.RegisterTransform(func(r conveyor.Record, out conveyor.Emitter) error {
		if len(r.Payload) == 0 {
			return errors.New("empty payload")
		}
		tag, _ := conveyor.Config("tag")
		for i, w := range strings.Split(string(r.Payload), ",") {
			o := conveyor.Record{Key: fmt.Sprintf("%s-%d", r.Key, i), Payload: []byte(w)}
			o.Metadata.Set(tag, fmt.Sprint(i))
			out.Emit(o)
		}
		conveyor.Counter("words", 1)
		return nil
	})
	defer conveyor.OnInit(nil)

	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"tag": "word.index"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	outs, _ := p.Process(
		conveyor.Record{Key: "k", Payload: []byte("alpha,beta")},
		conveyor.Record{Key: "empty"},
	)
	for _, o := range outs {
		if o.Err != "" {
			fmt.Printf("input %d failed: %s\n", o.Input, o.Err)
			continue
		}
		fmt.Printf("input %d -> %s %s %v\n", o.Input, o.Record.Key, o.Record.Payload, o.Record.Metadata)
	}
	// Output:
	// input 0 -> k-0 alpha [{word.index 0}]
	// input 0 -> k-1 beta [{word.index 1}]
	// input 1 failed: empty payload
}

func ExampleMetadata() {
	var m conveyor.Metadata // nil is ready to use
	m.Set("source", "orders")
	m.Set("region", "eu")
	m.Set("source", "refunds")
	m.Delete("region")
	v, ok := m.Get("source")
	fmt.Println(v, ok, len(m))
	// Output: refunds true 1
}
