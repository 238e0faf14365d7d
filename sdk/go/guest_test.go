package conveyor

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// newGuest returns an initialized guest running f with config cfg.
func newGuest(tb testing.TB, f TransformFunc, cfg map[string]string) *guest {
	tb.Helper()
	g := &guest{hooks: hooks{transform: f}}
	if err := g.init(abi.AppendConfig(nil, cfg)); err != nil {
		tb.Fatalf("init: %v", err)
	}
	tb.Cleanup(g.close)
	return g
}

// run encodes recs into the guest's alloc buffer, as the host does,
// processes them and decodes the output frame with abi.
func run(tb testing.TB, g *guest, recs []abi.Record) []abi.Output {
	tb.Helper()
	in := abi.AppendInputBatch(nil, recs)
	buf := g.alloc(uint32(len(in)))
	copy(buf, in)
	frame, err := g.process(buf)
	if err != nil {
		tb.Fatalf("process: %v", err)
	}
	outs, err := abi.DecodeOutputBatch(bytes.Clone(frame), len(recs), nil)
	if err != nil {
		tb.Fatalf("SDK wrote an output frame abi rejects: %v", err)
	}
	return outs
}

func rec(key, payload string) abi.Record {
	return abi.Record{Key: []byte(key), Payload: []byte(payload)}
}

func TestGuest_Process_Cases(t *testing.T) {
	in := []abi.Record{rec("a", "1"), rec("b", "22"), rec("c", "333")}
	tests := []struct {
		name string
		f    TransformFunc
		want []abi.Output
	}{
		{
			name: "identity",
			f:    func(r Record, out Emitter) error { out.Emit(r); return nil },
			want: []abi.Output{
				{Kind: abi.KindRecord, Input: 0, Record: rec("a", "1")},
				{Kind: abi.KindRecord, Input: 1, Record: rec("b", "22")},
				{Kind: abi.KindRecord, Input: 2, Record: rec("c", "333")},
			},
		},
		{
			name: "drop all but b",
			f: func(r Record, out Emitter) error {
				if r.Key == "b" {
					out.Emit(r)
				}
				return nil
			},
			want: []abi.Output{{Kind: abi.KindRecord, Input: 1, Record: rec("b", "22")}},
		},
		{
			name: "split per payload byte",
			f: func(r Record, out Emitter) error {
				for i := range r.Payload {
					out.Emit(Record{Key: fmt.Sprintf("%s%d", r.Key, i), Payload: r.Payload[i : i+1]})
				}
				return nil
			},
			want: []abi.Output{
				{Kind: abi.KindRecord, Input: 0, Record: rec("a0", "1")},
				{Kind: abi.KindRecord, Input: 1, Record: rec("b0", "2")},
				{Kind: abi.KindRecord, Input: 1, Record: rec("b1", "2")},
				{Kind: abi.KindRecord, Input: 2, Record: rec("c0", "3")},
				{Kind: abi.KindRecord, Input: 2, Record: rec("c1", "3")},
				{Kind: abi.KindRecord, Input: 2, Record: rec("c2", "3")},
			},
		},
		{
			name: "error discards what the record emitted",
			f: func(r Record, out Emitter) error {
				out.Emit(r)
				if r.Key == "b" {
					return errors.New("bad record b")
				}
				return nil
			},
			want: []abi.Output{
				{Kind: abi.KindRecord, Input: 0, Record: rec("a", "1")},
				{Kind: abi.KindError, Input: 1, Err: "bad record b"},
				{Kind: abi.KindRecord, Input: 2, Record: rec("c", "333")},
			},
		},
		{
			name: "panic becomes a per-record error",
			f: func(r Record, out Emitter) error {
				out.Emit(r)
				if r.Key != "a" {
					var m map[string]int
					//lint:ignore SA5000 the test needs a runtime panic, not an explicit one
					m[r.Key] = 1
				}
				return nil
			},
			want: []abi.Output{
				{Kind: abi.KindRecord, Input: 0, Record: rec("a", "1")},
				{Kind: abi.KindError, Input: 1, Err: "panic: assignment to entry in nil map"},
				{Kind: abi.KindError, Input: 2, Err: "panic: assignment to entry in nil map"},
			},
		},
		{
			name: "processing resumes after a panic",
			f: func(r Record, out Emitter) error {
				if r.Key == "b" {
					panic(fmt.Sprintf("cannot handle %s", r.Payload))
				}
				out.Emit(r)
				return nil
			},
			want: []abi.Output{
				{Kind: abi.KindRecord, Input: 0, Record: rec("a", "1")},
				{Kind: abi.KindError, Input: 1, Err: "panic: cannot handle 22"},
				{Kind: abi.KindRecord, Input: 2, Record: rec("c", "333")},
			},
		},
		{
			name: "empty error text is replaced",
			f:    func(Record, Emitter) error { return errors.New("") },
			want: []abi.Output{
				{Kind: abi.KindError, Input: 0, Err: "transform failed with an empty error"},
				{Kind: abi.KindError, Input: 1, Err: "transform failed with an empty error"},
				{Kind: abi.KindError, Input: 2, Err: "transform failed with an empty error"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuest(t, tt.f, nil)
			if got := run(t, g, in); !reflect.DeepEqual(normalize(got), normalize(tt.want)) {
				t.Fatalf("outputs\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// normalize makes empty and nil slices compare equal.
func normalize(outs []abi.Output) []abi.Output {
	outs = append([]abi.Output(nil), outs...)
	for i := range outs {
		r := &outs[i].Record
		if len(r.Key) == 0 {
			r.Key = nil
		}
		if len(r.Payload) == 0 {
			r.Payload = nil
		}
		if len(r.Metadata) == 0 {
			r.Metadata = nil
		}
		r.Metadata = append([]abi.KV(nil), r.Metadata...)
		for j := range r.Metadata {
			kv := &r.Metadata[j]
			kv.Key, kv.Value = append([]byte{}, kv.Key...), append([]byte{}, kv.Value...)
		}
	}
	return outs
}

func TestGuest_Process_RoundTripsAllFields(t *testing.T) {
	in := []abi.Record{
		{Key: []byte("k1"), Payload: []byte(`{"a":1}`), EventTime: 1_700_000_000_123_456_789, HasEventTime: true,
			Metadata: []abi.KV{{Key: []byte("x"), Value: []byte("1")}, {Key: []byte("y"), Value: []byte("")}}},
		{Key: nil, Payload: nil},
		{Key: []byte("neg"), Payload: []byte("p"), EventTime: -5, HasEventTime: true},
	}
	g := newGuest(t, func(r Record, out Emitter) error { out.Emit(r); return nil }, nil)
	got := run(t, g, in)
	want := make([]abi.Output, len(in))
	for i, r := range in {
		want[i] = abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: r}
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
	}
}

func TestGuest_Process_TransformSeesDecodedRecord(t *testing.T) {
	var seen []Record
	g := newGuest(t, func(r Record, out Emitter) error {
		r.Payload = bytes.Clone(r.Payload)
		seen = append(seen, r)
		return nil
	}, nil)
	run(t, g, []abi.Record{{Key: []byte("k"), Payload: []byte("p"), EventTime: 42, HasEventTime: true,
		Metadata: []abi.KV{{Key: []byte("m"), Value: []byte("v")}}}})
	if len(seen) != 1 {
		t.Fatalf("transform called %d times, want 1", len(seen))
	}
	r := seen[0]
	if r.Key != "k" || string(r.Payload) != "p" || r.EventTime.UnixNano() != 42 ||
		!reflect.DeepEqual(r.Metadata, Metadata{{"m", "v"}}) {
		t.Fatalf("transform saw %+v", r)
	}
}

// TestGuest_Process_StringsOutliveBatch: keys and metadata are ordinary
// strings a transform may keep, and a transform appending to a record's
// metadata does not touch the next record's.
func TestGuest_Process_StringsOutliveBatch(t *testing.T) {
	var kept []Record
	g := newGuest(t, func(r Record, out Emitter) error {
		r.Metadata = append(r.Metadata, KV{"added", r.Key})
		kept = append(kept, Record{Key: r.Key, Metadata: r.Metadata})
		return nil
	}, nil)
	md := func(v string) []abi.KV { return []abi.KV{{Key: []byte("m"), Value: []byte(v)}} }
	run(t, g, []abi.Record{{Key: []byte("k1"), Metadata: md("v1")}, {Key: []byte("k2"), Metadata: md("v2")}})
	run(t, g, []abi.Record{{Key: []byte("XX"), Metadata: md("YY")}, {Key: []byte("ZZ"), Metadata: md("WW")}})
	want := []Record{
		{Key: "k1", Metadata: Metadata{{"m", "v1"}, {"added", "k1"}}},
		{Key: "k2", Metadata: Metadata{{"m", "v2"}, {"added", "k2"}}},
		{Key: "XX", Metadata: Metadata{{"m", "YY"}, {"added", "XX"}}},
		{Key: "ZZ", Metadata: Metadata{{"m", "WW"}, {"added", "ZZ"}}},
	}
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("kept records\n got %+v\nwant %+v", kept, want)
	}
}

func TestGuest_Process_ReusesBuffersAcrossBatches(t *testing.T) {
	g := newGuest(t, func(r Record, out Emitter) error { out.Emit(r); return nil }, nil)
	for i, n := range []int{5, 1, 3} {
		in := make([]abi.Record, n)
		for j := range in {
			in[j] = rec(fmt.Sprintf("b%d-%d", i, j), "x")
		}
		got := run(t, g, in)
		if len(got) != n || string(got[n-1].Record.Key) != fmt.Sprintf("b%d-%d", i, n-1) {
			t.Fatalf("batch %d: got %+v", i, got)
		}
	}
}

func TestGuest_Process_Errors(t *testing.T) {
	identity := func(r Record, out Emitter) error { out.Emit(r); return nil }
	tests := []struct {
		name  string
		g     func(t *testing.T) *guest
		frame []byte
		want  string
	}{
		{"before init", func(*testing.T) *guest { return &guest{hooks: hooks{transform: identity}} },
			abi.AppendInputBatch(nil, nil), "before a successful conveyor_init"},
		{"garbage frame", func(t *testing.T) *guest { return newGuest(t, identity, nil) },
			[]byte("not a frame"), "decode input batch"},
		{"output frame kind", func(t *testing.T) *guest { return newGuest(t, identity, nil) },
			abi.AppendOutputBatch(nil, nil), "decode input batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.g(t).process(tt.frame)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGuest_Process_FrameErrorIsWrapped(t *testing.T) {
	g := newGuest(t, func(Record, Emitter) error { return nil }, nil)
	_, err := g.process([]byte("CVYB"))
	var fe *abi.FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a wrapped *abi.FrameError", err)
	}
}

func TestGuest_Init_Cases(t *testing.T) {
	tests := []struct {
		name  string
		hooks hooks
		frame []byte
		want  string // "" = success
	}{
		{"ok", hooks{transform: func(Record, Emitter) error { return nil }}, abi.AppendConfig(nil, nil), ""},
		{"no transform", hooks{}, abi.AppendConfig(nil, nil), "nothing registered"},
		{"bad frame", hooks{transform: func(Record, Emitter) error { return nil }}, []byte("CVYX"), "decode config frame"},
		{"init hook fails", hooks{
			transform: func(Record, Emitter) error { return nil },
			init:      func() error { return errors.New("config field is required") },
		}, abi.AppendConfig(nil, nil), "config field is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &guest{hooks: tt.hooks}
			defer g.close()
			err := g.init(tt.frame)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("init: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGuest_Init_HookSeesConfig(t *testing.T) {
	var got string
	g := &guest{hooks: hooks{
		transform: func(Record, Emitter) error { return nil },
		init: func() error {
			got, _ = Config("field")
			return nil
		},
	}}
	defer g.close()
	if err := g.init(abi.AppendConfig(nil, map[string]string{"field": "email"})); err != nil {
		t.Fatal(err)
	}
	if got != "email" {
		t.Fatalf("Config(field) in OnInit = %q, want email", got)
	}
}

func TestGuest_InitError_ReturnsText(t *testing.T) {
	g := &guest{}
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("first failure"), "first failure"},
		{errors.New("x"), "x"},
		{errors.New(""), "init failed with an empty error"}, // never (0, 0): that means success
	}
	for _, tt := range tests {
		if got := string(g.initError(tt.err)); got != tt.want {
			t.Errorf("initError(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestGuest_Alloc_Grows(t *testing.T) {
	g := &guest{}
	tests := []struct {
		size    uint32
		wantCap int
	}{
		{0, minAlloc},
		{10, minAlloc},
		{minAlloc, minAlloc},
		{minAlloc + 1, 2 * minAlloc},
		{5 * minAlloc, 8 * minAlloc},
		{100, 8 * minAlloc}, // never shrinks
	}
	for _, tt := range tests {
		b := g.alloc(tt.size)
		if len(b) != int(tt.size) || cap(g.in) != tt.wantCap {
			t.Fatalf("alloc(%d): len %d cap %d, want len %d cap %d", tt.size, len(b), cap(g.in), tt.size, tt.wantCap)
		}
	}
}

func TestGuest_InputAt_Bounds(t *testing.T) {
	g := &guest{}
	copy(g.alloc(16), "0123456789abcdef")
	const base = 1000
	tests := []struct {
		ptr, n uint32
		want   string // "" = error
	}{
		{base, 4, "0123"},
		{base + 10, 6, "abcdef"},
		{base + minAlloc, 0, ""},
		{base - 1, 1, "<error>"},
		{base + minAlloc - 1, 2, "<error>"},
		{base + 1, 1<<32 - 1, "<error>"},
	}
	for _, tt := range tests {
		b, err := g.inputAt(base, tt.ptr, tt.n)
		got := string(b)
		if err != nil {
			got = "<error>"
		}
		if got != tt.want {
			t.Errorf("inputAt(%d, %d) = %q (err %v), want %q", tt.ptr, tt.n, got, err, tt.want)
		}
	}
}

func TestEmitter_Emit_AfterReturnPanics(t *testing.T) {
	var kept Emitter
	g := newGuest(t, func(r Record, out Emitter) error { kept = out; return nil }, nil)
	run(t, g, []abi.Record{rec("a", "1")})
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "after the transform returned") {
			t.Fatalf("recover() = %v, want the misuse panic", p)
		}
	}()
	kept.Emit(Record{})
}

// FuzzGuest_Process feeds arbitrary bytes as an input frame: process must
// never panic, and every frame it returns must decode with abi and carry one
// identity output per input.
func FuzzGuest_Process(f *testing.F) {
	f.Add(abi.AppendInputBatch(nil, []abi.Record{rec("a", "1"), {Key: []byte("k"), EventTime: 3, HasEventTime: true,
		Metadata: []abi.KV{{Key: []byte("m"), Value: []byte("v")}}}}))
	f.Add(abi.AppendInputBatch(nil, nil))
	f.Add([]byte("CVYB\x01\x00\x00\x00\x01\x00\x00\x00\xff\xff\xff\xff"))
	g := newGuest(f, func(r Record, out Emitter) error { out.Emit(r); return nil }, nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		frame, err := g.process(in)
		if err != nil {
			return
		}
		recs, err := abi.DecodeInputBatch(in, nil)
		if err != nil {
			t.Fatalf("process accepted a frame abi rejects: %v", err)
		}
		outs, err := abi.DecodeOutputBatch(frame, len(recs), nil)
		if err != nil {
			t.Fatalf("output frame does not decode: %v", err)
		}
		if len(outs) != len(recs) {
			t.Fatalf("%d outputs for %d inputs", len(outs), len(recs))
		}
		for i := range outs {
			if !bytes.Equal(outs[i].Record.Payload, recs[i].Payload) || !bytes.Equal(outs[i].Record.Key, recs[i].Key) {
				t.Fatalf("output %d = %+v, want %+v", i, outs[i].Record, recs[i])
			}
		}
	})
}

// BenchmarkGuest_Process is the guest-side cost of a no-op transform on a
// batch of 256 records of 200 B: decode, call, encode.
func BenchmarkGuest_Process(b *testing.B) {
	in := make([]abi.Record, 256)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "key-%04d", i), Payload: bytes.Repeat([]byte("x"), 200),
			EventTime: int64(i), HasEventTime: true}
	}
	frame := abi.AppendInputBatch(nil, in)
	g := newGuest(b, func(r Record, out Emitter) error { out.Emit(r); return nil }, nil)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.process(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in)), "ns/record")
}
