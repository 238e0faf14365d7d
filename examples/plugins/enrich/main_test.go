package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestEnrich_Process_Cases(t *testing.T) {
	now := time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)
	tests := []struct {
		name    string
		config  map[string]string
		in      conveyor.Record
		payload string
		md      conveyor.Metadata
	}{
		{"metadata and timestamp", map[string]string{"metadata": "env=prod, team = data"},
			conveyor.Record{Payload: []byte(`{"id":1}`), Metadata: conveyor.Metadata{{Key: "env", Value: "dev"}, {Key: "x", Value: "y"}}},
			`{"id":1,"processed_at":"2026-02-03T04:05:06.000000789Z"}`,
			conveyor.Metadata{{Key: "env", Value: "prod"}, {Key: "x", Value: "y"}, {Key: "team", Value: "data"}}},
		{"custom field replaces existing", map[string]string{"field": "ts"},
			conveyor.Record{Payload: []byte(`{"ts":0,"id":2}`)},
			`{"ts":"2026-02-03T04:05:06.000000789Z","id":2}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := conveyortest.New(conveyortest.Options{Config: tt.config, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			outs, err := p.Process(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 1 || string(outs[0].Record.Payload) != tt.payload || !reflect.DeepEqual(outs[0].Record.Metadata, tt.md) {
				t.Fatalf("outputs = %+v (payload %s), want payload %s metadata %v", outs, outs[0].Record.Payload, tt.payload, tt.md)
			}
		})
	}
}

func TestEnrich_Process_Errors(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	outs, err := p.Process(conveyor.Record{Payload: []byte(`[1]`)}, conveyor.Record{Payload: []byte(`{`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Err != "payload is a JSON array, not an object" ||
		!strings.HasPrefix(outs[1].Err, "payload is not JSON: ") {
		t.Fatalf("outputs = %+v, want two per-record errors", outs)
	}
}

func TestConfigure_BadMetadata(t *testing.T) {
	_, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"metadata": "a=1,oops"}})
	if err == nil || !strings.Contains(err.Error(), `entry "oops" is not key=value`) {
		t.Fatalf("err = %v", err)
	}
}
