package main

import (
	"reflect"
	"testing"
	"time"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestNoop_Process_Unchanged(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := []conveyor.Record{
		{Key: "a", Payload: []byte("not even json"), Metadata: conveyor.Metadata{{Key: "m", Value: "v"}},
			EventTime: time.Unix(1, 2).UTC()},
		{Key: "b", Payload: []byte(`{}`)},
	}
	outs, err := p.Process(in...)
	if err != nil {
		t.Fatal(err)
	}
	want := []conveyortest.Output{{Input: 0, Record: in[0]}, {Input: 1, Record: in[1]}}
	if !reflect.DeepEqual(outs, want) {
		t.Fatalf("outputs\n got %+v\nwant %+v", outs, want)
	}
}
