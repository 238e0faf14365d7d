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

// A lookup round trip (ABI 1.1): the host encodes the keys, the guest
// answers each in order with a row or a miss.
func ExampleDecodeLookupResult() {
	req := abi.AppendLookupRequest(nil, [][]byte{[]byte("u1"), []byte("nobody")})
	keys, _ := abi.DecodeLookupRequest(req, nil) // in the guest
	var answers []abi.LookupResult
	for _, k := range keys {
		if string(k) == "u1" {
			answers = append(answers, abi.LookupResult{Found: true, Row: []byte(`{"tier":"gold"}`)})
		} else {
			answers = append(answers, abi.LookupResult{})
		}
	}
	res, err := abi.DecodeLookupResult(abi.AppendLookupResult(nil, answers), len(keys), nil) // in the host
	fmt.Println(res[0].Found, string(res[0].Row), res[1].Found, err)
	// Output: true {"tier":"gold"} false <nil>
}
