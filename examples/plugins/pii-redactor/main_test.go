package main

import (
	"reflect"
	"strings"
	"testing"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
	"github.com/conveyor-etl/conveyor-wasm/sdk/go/conveyortest"
)

func TestRedact_Process_Cases(t *testing.T) {
	tests := []struct {
		name    string
		config  map[string]string
		payload string
		want    string // output payload, or the error prefix after "error: "
	}{
		{"top level and nested", map[string]string{"fields": "email,user.phone"},
			`{"email":"a@b.c","user":{"phone":"+1 555","name":"Ann"},"n":1.50}`,
			`{"email":"[REDACTED]","user":{"phone":"[REDACTED]","name":"Ann"},"n":1.50}`},
		{"custom replacement", map[string]string{"fields": "email", "replacement": "***"},
			`{"email":"a@b.c"}`, `{"email":"***"}`},
		{"non-string values and objects", map[string]string{"fields": "ssn, card"},
			`{"ssn":123456789,"card":{"number":"4111"},"ok":true}`,
			`{"ssn":"[REDACTED]","card":"[REDACTED]","ok":true}`},
		{"array index in path", map[string]string{"fields": "users.1.email"},
			`{"users":[{"email":"a"},{"email":"b"}]}`, `{"users":[{"email":"a"},{"email":"[REDACTED]"}]}`},
		{"absent fields leave the payload byte for byte", map[string]string{"fields": "email"},
			`{ "name" : "x" }`, `{ "name" : "x" }`},
		{"scalar payload", map[string]string{"fields": "email"}, `42`, `42`},
		{"not JSON", map[string]string{"fields": "email"}, `email=a@b.c`, "error: payload is not JSON: "},
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
			if len(outs) != 1 {
				t.Fatalf("got %d outputs, want 1: %+v", len(outs), outs)
			}
			if prefix, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if !strings.HasPrefix(outs[0].Err, prefix) {
					t.Fatalf("error = %q, want prefix %q", outs[0].Err, prefix)
				}
				return
			}
			if outs[0].Err != "" || string(outs[0].Record.Payload) != tt.want || outs[0].Record.Key != "k" {
				t.Fatalf("output = %+v (payload %s), want payload %s", outs[0], outs[0].Record.Payload, tt.want)
			}
		})
	}
}

func TestRedact_Counter_FieldsRedacted(t *testing.T) {
	p, err := conveyortest.New(conveyortest.Options{Config: map[string]string{"fields": "a,b,c"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Process(
		conveyor.Record{Payload: []byte(`{"a":1,"b":2}`)},
		conveyor.Record{Payload: []byte(`{"c":3}`)},
		conveyor.Record{Payload: []byte(`{}`)},
	); err != nil {
		t.Fatal(err)
	}
	if got := p.Counters(); !reflect.DeepEqual(got, map[string]int64{"fields_redacted": 3}) {
		t.Fatalf("counters = %v, want fields_redacted=3", got)
	}
}

func TestConfigure_Errors(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"missing", nil, `config "fields": required`},
		{"only commas", map[string]string{"fields": " , ,"}, `config "fields": required`},
		{"empty segment", map[string]string{"fields": "user..phone"}, `field path "user..phone" has an empty segment`},
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
