package plugins

import (
	"fmt"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

func out(kind abi.OutputKind, input uint32, tag string) abi.Output {
	o := abi.Output{Kind: kind, Input: input}
	switch kind {
	case abi.KindRecord:
		o.Record.Payload = []byte(tag)
	case abi.KindError:
		o.Err = tag
	}
	return o
}

func show(outs []abi.Output) string {
	s := ""
	for _, o := range outs {
		switch o.Kind {
		case abi.KindRecord:
			s += fmt.Sprintf("r%d:%s ", o.Input, o.Record.Payload)
		case abi.KindError:
			s += fmt.Sprintf("e%d:%s ", o.Input, o.Err)
		case abi.KindDrop:
			s += fmt.Sprintf("d%d ", o.Input)
		}
	}
	return s
}

func TestNormalize_EntriesPerInput(t *testing.T) {
	R, E, D := abi.KindRecord, abi.KindError, abi.KindDrop
	tests := []struct {
		name string
		in   []abi.Output
		want string
	}{
		{"records only", []abi.Output{out(R, 0, "a"), out(R, 1, "b"), out(R, 0, "c")}, "r0:a r1:b r0:c "},
		{"record then error", []abi.Output{out(R, 0, "a"), out(E, 0, "mixed"), out(R, 1, "b")}, "e0:mixed r1:b "},
		{"error then record", []abi.Output{out(E, 0, "x"), out(R, 0, "a")}, "e0:x "},
		{"two errors keep the first", []abi.Output{out(E, 1, "first"), out(E, 1, "second")}, "e1:first "},
		{"drop with records", []abi.Output{out(D, 0, ""), out(R, 0, "a")}, "r0:a "},
		{"drop with error", []abi.Output{out(D, 0, ""), out(E, 0, "x")}, "e0:x "},
		{"repeated drops", []abi.Output{out(D, 2, ""), out(D, 2, ""), out(R, 1, "b")}, "d2 r1:b "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := normalize(tt.in, 3)
			if got := show(tt.in[:n]); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalize_UniqueMetadata(t *testing.T) {
	kv := func(k, v string) abi.KV { return abi.KV{Key: []byte(k), Value: []byte(v)} }
	outs := []abi.Output{{Kind: abi.KindRecord, Record: abi.Record{Metadata: []abi.KV{
		kv("a", "1"), kv("b", "2"), kv("a", "3"), kv("c", "4"), kv("b", "5")}}}}
	normalize(outs, 1)
	got := ""
	for _, m := range outs[0].Record.Metadata {
		got += string(m.Key) + "=" + string(m.Value) + " "
	}
	if want := "a=3 b=5 c=4 "; got != want {
		t.Fatalf("metadata = %q, want %q", got, want)
	}
}

func TestPagesText_Units(t *testing.T) {
	tests := map[uint32]string{1: "1 page (64 KiB)", 16: "16 pages (1 MiB)", 17: "17 pages (1088 KiB)", 4096: "4096 pages (256 MiB)"}
	for pages, want := range tests {
		if got := pagesText(pages); got != want {
			t.Errorf("pagesText(%d) = %q, want %q", pages, got, want)
		}
	}
}

func TestIsJSONObject_Values(t *testing.T) {
	tests := map[string]bool{`{}`: true, ` {"a":1} `: true, `[]`: false, `"x"`: false, `{`: false, ``: false, `{} {}`: false}
	for in, want := range tests {
		if got := isJSONObject([]byte(in)); got != want {
			t.Errorf("isJSONObject(%q) = %v, want %v", in, got, want)
		}
	}
}
