package abi_test

import (
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// A host encodes an input batch; a guest decodes it, answers with an output
// batch, and the host decodes the answer.
func Example() {
	in := abi.AppendInputBatch(nil, []abi.Record{
		{Key: []byte("a"), Payload: []byte(`{"n":1}`)},
		{Key: []byte("b"), Payload: []byte(`{"n":2}`)},
	})

	// Guest side.
	recs, err := abi.DecodeInputBatch(in, nil)
	if err != nil {
		panic(err)
	}
	out := abi.AppendOutputBatch(nil, []abi.Output{
		{Kind: abi.KindRecord, Input: 0, Record: recs[0]},
		{Kind: abi.KindError, Input: 1, Err: "n must be odd"},
	})

	// Host side.
	outs, err := abi.DecodeOutputBatch(out, len(recs), nil)
	if err != nil {
		panic(err)
	}
	for _, o := range outs {
		fmt.Printf("input %d: %s %s%s\n", o.Input, o.Kind, o.Record.Payload, o.Err)
	}
	// Output:
	// input 0: record {"n":1}
	// input 1: error n must be odd
}

func ExampleDecodeConfig() {
	frame := abi.AppendConfig(nil, map[string]string{"field": "user", "mode": "mask"})
	cfg, err := abi.DecodeConfig(frame)
	fmt.Println(cfg["field"], cfg["mode"], err)
	// Output: user mask <nil>
}

func ExampleFormatVersion() {
	fmt.Println(abi.FormatVersion(abi.Version), abi.Compatible(0x00010002), abi.Compatible(0x00020000))
	// Output: 1.1 true false
}
