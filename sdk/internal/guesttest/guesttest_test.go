package guesttest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

func TestNormalize_CopiesOutOfTheGuest(t *testing.T) {
	mem := []byte("keypayloadmk mv")
	o := abi.Output{Kind: abi.KindRecord, Record: abi.Record{Key: mem[0:3], Payload: mem[3:10],
		Metadata: []abi.KV{{Key: mem[10:12], Value: mem[13:15]}}}}
	n := Normalize(o)
	copy(mem, strings.Repeat("x", len(mem))) // the guest reuses its memory
	want := abi.Output{Kind: abi.KindRecord, Record: abi.Record{Key: []byte("key"), Payload: []byte("payload"),
		Metadata: []abi.KV{{Key: []byte("mk"), Value: []byte("mv")}}}}
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("Normalize = %+v", n)
	}
	if e := Normalize(abi.Output{Kind: abi.KindRecord}); e.Record.Metadata == nil || len(e.Record.Metadata) != 0 {
		t.Fatalf("no metadata normalizes to %#v, want empty", e.Record.Metadata)
	}
}

func TestShow_Cases(t *testing.T) {
	if s := Show(abi.Output{Kind: abi.KindError, Err: "bad"}); s != `error "bad"` {
		t.Fatalf("Show(error) = %q", s)
	}
	long := Show(abi.Output{Kind: abi.KindRecord, Record: abi.Record{Payload: []byte(strings.Repeat("p", 1000))}})
	if len(long) != 405 || !strings.Contains(long, " ... ") {
		t.Fatalf("Show(long) is %d bytes", len(long))
	}
}
