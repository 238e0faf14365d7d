package main

import (
	"reflect"
	"strings"
	"testing"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestFilter_Process_Cases(t *testing.T) {
	in := []conveyor.Record{
		{Key: "0", Payload: []byte(`{"status":"paid","user":{"country":"FR"},"n":42}`)},
		{Key: "1", Payload: []byte(`{"status":"open","user":{"country":"DE"},"n":"42"}`)},
		{Key: "2", Payload: []byte(`{"user":{}}`)},
		{Key: "3", Payload: []byte(`{"status":"paid","n":42.0,"ok":true}`)},
	}
	tests := []struct {
		name   string
		config map[string]string
		want   []int // inputs kept
	}{
		{"string field", map[string]string{"field": "status", "equals": "paid"}, []int{0, 3}},
		{"nested field", map[string]string{"field": "user.country", "equals": "DE"}, []int{1}},
		{"number and string compare by text", map[string]string{"field": "n", "equals": "42"}, []int{0, 1}},
		{"bool by JSON text", map[string]string{"field": "ok", "equals": "true"}, []int{3}},
		{"object by JSON text", map[string]string{"field": "user", "equals": "{}"}, []int{2}},
		{"no match", map[string]string{"field": "status", "equals": "void"}, nil},
		{"empty value matches empty string only", map[string]string{"field": "status", "equals": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := conveyortest.New(conveyortest.Options{Config: tt.config})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			outs, err := p.Process(in...)
			if err != nil {
				t.Fatal(err)
			}
			var kept []int
			for _, o := range outs {
				if o.Err != "" || !reflect.DeepEqual(o.Record.Payload, in[o.Input].Payload) || o.Record.Key != in[o.Input].Key {
					t.Fatalf("output %+v is not input %d unchanged", o, o.Input)
				}
				kept = append(kept, o.Input)
			}
			if !reflect.DeepEqual(kept, tt.want) {
				t.Fatalf("kept %v, want %v", kept, tt.want)
			}
		})
	}
}

func TestFilter_Process_NotJSON(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"field": "a", "equals": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	outs, err := p.Process(conveyor.Record{Payload: []byte(`{"a":`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || !strings.HasPrefix(outs[0].Err, "payload is not JSON: ") {
		t.Fatalf("outputs = %+v, want one per-record error", outs)
	}
}

func TestConfigure_Errors(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"no field", map[string]string{"equals": "x"}, `config "field" is required`},
		{"no equals", map[string]string{"field": "x"}, `config "equals" is required`},
		{"empty segment", map[string]string{"field": "a.", "equals": "x"}, `path "a." has an empty segment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conveyortest.New(conveyortest.Options{Config: tt.config})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
