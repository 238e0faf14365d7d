package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestSplit_Process_Elements(t *testing.T) {
	et := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"field": "order.lines"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	outs, err := p.Process(conveyor.Record{
		Key:       "o1",
		Payload:   []byte(`{"order":{"lines":[{"sku":"a"}, 2, "three"]}}`),
		Metadata:  conveyor.Metadata{{Key: "src", Value: "shop"}},
		EventTime: et,
	})
	if err != nil {
		t.Fatal(err)
	}
	md := func(i string) conveyor.Metadata {
		return conveyor.Metadata{{Key: "src", Value: "shop"}, {Key: MetaIndex, Value: i}, {Key: MetaCount, Value: "3"}}
	}
	want := []conveyortest.Output{
		{Input: 0, Record: conveyor.Record{Key: "o1-0", Payload: []byte(`{"sku":"a"}`), Metadata: md("0"), EventTime: et}},
		{Input: 0, Record: conveyor.Record{Key: "o1-1", Payload: []byte(`2`), Metadata: md("1"), EventTime: et}},
		{Input: 0, Record: conveyor.Record{Key: "o1-2", Payload: []byte(`"three"`), Metadata: md("2"), EventTime: et}},
	}
	if !reflect.DeepEqual(outs, want) {
		t.Fatalf("outputs\n got %+v\nwant %+v", outs, want)
	}
}

func TestSplit_Process_Cases(t *testing.T) {
	tests := []struct {
		name    string
		config  map[string]string
		payload string
		keys    []string // output keys; nil = dropped
		err     string   // per-record error prefix
	}{
		{"separator", map[string]string{"field": "xs", "separator": "#"}, `{"xs":[1,2]}`, []string{"k#0", "k#1"}, ""},
		{"empty array drops", map[string]string{"field": "xs"}, `{"xs":[]}`, nil, ""},
		{"missing field", map[string]string{"field": "xs"}, `{"ys":[1]}`, nil, `field "xs" not found`},
		{"not an array", map[string]string{"field": "xs"}, `{"xs":{"a":1}}`, nil, `field "xs" is object, not an array`},
		{"not JSON", map[string]string{"field": "xs"}, `[1,2`, nil, "payload is not JSON: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := conveyortest.New(conveyortest.Options{Config: tt.config})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			outs, err := p.Process(conveyor.Record{Key: "k", Payload: []byte(tt.payload)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.err != "" {
				if len(outs) != 1 || !strings.HasPrefix(outs[0].Err, tt.err) {
					t.Fatalf("outputs = %+v, want error %q", outs, tt.err)
				}
				return
			}
			var keys []string
			for _, o := range outs {
				keys = append(keys, o.Record.Key)
			}
			if !reflect.DeepEqual(keys, tt.keys) {
				t.Fatalf("keys = %q, want %q", keys, tt.keys)
			}
		})
	}
}

func TestConfigure_Errors(t *testing.T) {
	for _, cfg := range []map[string]string{nil, {"field": ".a"}} {
		if _, err := conveyortest.New(conveyortest.Options{Config: cfg}); err == nil || !strings.Contains(err.Error(), `config "field"`) {
			t.Errorf("config %v: err = %v, want a config \"field\" error", cfg, err)
		}
	}
}
