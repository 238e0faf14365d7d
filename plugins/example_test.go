package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// Load a plugin, send it a batch and read the outputs: one record passes,
// one fails on its own and is reported as an error entry.
func Example() {
	path, err := plugintest.Build("testdata/guests/recorderror")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	p, err := plugins.Load(ctx, plugins.Options{Name: "demo", Path: path, Instances: 1})
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)

	in := []abi.Record{{Key: []byte("a"), Payload: []byte("ok")}, {Key: []byte("b"), Payload: []byte("bad")}}
	out, err := p.Process(ctx, in, nil)
	if err != nil {
		panic(err)
	}
	for _, o := range out {
		switch o.Kind {
		case abi.KindRecord:
			fmt.Printf("input %d -> record %s\n", o.Input, o.Record.Payload)
		case abi.KindError:
			fmt.Printf("input %d -> error: %s\n", o.Input, o.Err)
		}
	}
	fmt.Println("ABI", p.Info().ABI, "records out", p.Stats().RecordsOut)
	// Output:
	// input 0 -> record ok
	// input 1 -> error: bad payload in record 1
	// ABI 1.1 records out 1
}

// A guest that traps fails only its batch; the caller gets a *BatchError
// and the plugin goes on with a fresh instance.
func ExampleBatchError() {
	path, err := plugintest.Build("testdata/guests/trap")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	p, err := plugins.Load(ctx, plugins.Options{Name: "fragile", Path: path, Instances: 1})
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)

	_, err = p.Process(ctx, []abi.Record{{Payload: []byte("panic")}}, nil)
	var be *plugins.BatchError
	if errors.As(err, &be) {
		fmt.Println(be.Plugin, be.Kind)
	}
	out, err := p.Process(ctx, []abi.Record{{Payload: []byte("fine")}}, nil)
	fmt.Println(len(out), err, p.Stats().Faults[plugins.FaultTrap])
	// Output:
	// fragile trap
	// 1 <nil> 2
}

func ExampleInspect() {
	path, err := plugintest.Build("testdata/guests/forbiddenimport")
	if err != nil {
		panic(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	info, err := plugins.Inspect(context.Background(), wasm)
	if err != nil {
		panic(err)
	}
	fmt.Println(info.What)
	fmt.Println(info.Loadable)
	fmt.Println(info.Problems[0])
	// Output:
	// conveyor plugin
	// false
	// import wasi_snapshot_preview1.sock_accept is not allowed: network access is not granted to plugins
}

// A lookup plugin (ABI 1.1) answers a batch of keys with one row or miss
// per key. The engine's lookup stage checks Capabilities once at load, asks
// per batch, and applies its miss strategy to misses; plugin counters
// (Stats().Metrics) go into the run summary.
func ExamplePlugin_Lookup() {
	path, err := plugintest.Build("../examples/plugins/user-tier")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	p, err := plugins.Load(ctx, plugins.Options{Name: "tiers", Path: path, Instances: 1})
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)
	if !p.Capabilities().Lookup {
		panic("not a lookup plugin")
	}

	res, err := p.Lookup(ctx, [][]byte{[]byte("u1"), []byte("nobody")}, nil)
	if err != nil {
		panic(err) // a *plugins.BatchError: the guest failed this batch twice
	}
	for _, r := range res {
		if r.Found {
			fmt.Println("hit:", string(r.Row))
		} else {
			fmt.Println("miss")
		}
	}
	s := p.Stats()
	fmt.Println("keys", s.LookupKeys, "hits", s.LookupHits)
	// Output:
	// hit: {"user_id":"u1","tier":"gold","since":"2021-03-01"}
	// miss
	// keys 2 hits 1
}
