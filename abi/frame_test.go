package abi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func sampleRecords() []Record {
	return []Record{
		{Key: []byte("k1"), Payload: []byte(`{"a":1}`), EventTime: 1700000000000000000, HasEventTime: true,
			Metadata: []KV{{Key: []byte("h"), Value: []byte("v")}, {Key: []byte("empty")}}},
		{},
		{Payload: []byte("no key"), EventTime: -5, HasEventTime: true},
		{Key: []byte("only-key")},
	}
}

func sampleOutputs() []Output {
	recs := sampleRecords()
	return []Output{
		{Kind: KindRecord, Input: 0, Record: recs[0]},
		{Kind: KindRecord, Input: 0, Record: recs[2]},
		{Kind: KindDrop, Input: 1},
		{Kind: KindError, Input: 3, Err: "bad record: missing field \"id\""},
		{Kind: KindError, Input: 2},
	}
}

func equalRecord(a, b *Record) bool {
	if !bytes.Equal(a.Key, b.Key) || !bytes.Equal(a.Payload, b.Payload) ||
		a.HasEventTime != b.HasEventTime || len(a.Metadata) != len(b.Metadata) {
		return false
	}
	if a.HasEventTime && a.EventTime != b.EventTime {
		return false
	}
	for i := range a.Metadata {
		if !bytes.Equal(a.Metadata[i].Key, b.Metadata[i].Key) || !bytes.Equal(a.Metadata[i].Value, b.Metadata[i].Value) {
			return false
		}
	}
	return true
}

func equalOutput(a, b *Output) bool {
	if a.Kind != b.Kind || a.Input != b.Input {
		return false
	}
	switch a.Kind {
	case KindRecord:
		return equalRecord(&a.Record, &b.Record)
	case KindError:
		return a.Err == b.Err
	}
	return true
}

func TestInputBatch_RoundTrip_Samples(t *testing.T) {
	tests := []struct {
		name string
		recs []Record
	}{
		{"empty", nil},
		{"one empty record", []Record{{}}},
		{"samples", sampleRecords()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := AppendInputBatch(nil, tt.recs)
			if len(frame) != InputBatchSize(tt.recs) {
				t.Fatalf("len(frame) = %d, InputBatchSize = %d", len(frame), InputBatchSize(tt.recs))
			}
			got, err := DecodeInputBatch(frame, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.recs) {
				t.Fatalf("decoded %d records, want %d", len(got), len(tt.recs))
			}
			for i := range got {
				if !equalRecord(&got[i], &tt.recs[i]) {
					t.Errorf("record %d = %+v, want %+v", i, got[i], tt.recs[i])
				}
			}
		})
	}
}

func TestDecodeInputBatch_ZeroCopyAndAppend(t *testing.T) {
	frame := AppendInputBatch(nil, sampleRecords())
	prefix := []Record{{Key: []byte("kept")}}
	got, err := DecodeInputBatch(frame, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Key) != "kept" || len(got) != 1+len(sampleRecords()) {
		t.Fatalf("dst not appended to: %d records, first key %q", len(got), got[0].Key)
	}
	// Mutating the frame is visible through the decoded slices: they alias.
	i := bytes.Index(frame, []byte(`{"a":1}`))
	frame[i+2] = 'b'
	if string(got[1].Payload) != `{"b":1}` {
		t.Fatalf("payload %q does not alias the frame", got[1].Payload)
	}
	// Appending to one record's metadata must not clobber the next record's.
	md := append(got[1].Metadata, KV{Key: []byte("x")})
	if len(md) != 3 || got[2].Metadata != nil {
		t.Fatalf("metadata capacity leaks into the next record")
	}
}

func TestOutputBatch_RoundTrip_Samples(t *testing.T) {
	outs := sampleOutputs()
	frame := AppendOutputBatch(nil, outs)
	if len(frame) != OutputBatchSize(outs) {
		t.Fatalf("len(frame) = %d, OutputBatchSize = %d", len(frame), OutputBatchSize(outs))
	}
	got, err := DecodeOutputBatch(frame, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(outs) {
		t.Fatalf("decoded %d outputs, want %d", len(got), len(outs))
	}
	for i := range got {
		if !equalOutput(&got[i], &outs[i]) {
			t.Errorf("output %d = %+v, want %+v", i, got[i], outs[i])
		}
	}
}

// mutate returns a copy of frame with f applied.
func mutate(frame []byte, f func([]byte) []byte) []byte {
	return f(append([]byte(nil), frame...))
}

func put32(off int, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
}

func TestDecodeInputBatch_Rejects(t *testing.T) {
	one := AppendInputBatch(nil, []Record{{Key: []byte("k"), Payload: []byte("p"),
		Metadata: []KV{{Key: []byte("a"), Value: []byte("b")}}}})
	// Offsets in one: header 0..16, flags 16, event time 17..25, key len 25,
	// key 29, payload len 30, payload 34, md count 35, md key len 39, ...
	tests := []struct {
		name   string
		frame  []byte
		reason string
	}{
		{"nil", nil, "truncated header"},
		{"short header", one[:15], "truncated header"},
		{"bad magic", mutate(one, func(b []byte) []byte { b[0] = 'X'; return b }), "bad magic"},
		{"config magic", mutate(one, func(b []byte) []byte { copy(b, ConfigMagic); return b }), "bad magic"},
		{"major 2", mutate(one, func(b []byte) []byte { b[4] = 2; return b }), "unsupported version 2.1"},
		{"major 0", mutate(one, func(b []byte) []byte { b[4] = 0; return b }), "unsupported version 0.1"},
		{"output kind", mutate(one, func(b []byte) []byte { b[8] = FrameOutput; return b }), "frame kind 2, want 1"},
		{"kind 0", mutate(one, func(b []byte) []byte { b[8] = 0; return b }), "frame kind 0"},
		{"header flags", mutate(one, func(b []byte) []byte { b[9] = 1; return b }), "unknown header flags"},
		{"reserved", mutate(one, func(b []byte) []byte { b[11] = 1; return b }), "reserved field"},
		{"count too big", mutate(one, put32(12, 2)), "record count 2 exceeds"},
		{"count huge", mutate(one, put32(12, 0xffffffff)), "exceeds"},
		{"record flags", mutate(one, func(b []byte) []byte { b[16] = 2; return b }), "unknown record flags"},
		{"time without flag", mutate(one, func(b []byte) []byte { b[17] = 1; return b }), "without the event-time flag"},
		{"key past end", mutate(one, put32(25, 1000)), "key length 1000 past end"},
		{"key length max", mutate(one, put32(25, 0xffffffff)), "past end"},
		{"payload past end", mutate(one, put32(30, 100)), "payload length 100 past end"},
		{"md count too big", mutate(one, put32(35, 1000)), "metadata count 1000 exceeds"},
		{"md value past end", mutate(one, put32(44, 9)), "metadata value length 9 past end"},
		{"truncated in md", one[:len(one)-1], "past end"},
		{"truncated md count check", one[:len(one)-3], "metadata count 1 exceeds"},
		{"truncated md value len", AppendInputBatch(nil, []Record{{Metadata: []KV{{Key: []byte("abcdef"), Value: []byte("v")}}}})[:16+21+10+2], "truncated metadata value length"},
		{"trailing bytes", append(append([]byte(nil), one...), 0), "1 trailing bytes"},
		{"count 0 with data", mutate(one, put32(12, 0)), "trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []Record{{Key: []byte("keep")}}
			got, err := DecodeInputBatch(tt.frame, dst)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FrameError", err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Fatalf("reason = %q, want it to contain %q", fe.Reason, tt.reason)
			}
			if fe.Frame != "input batch" {
				t.Fatalf("frame = %q", fe.Frame)
			}
			if len(got) != 1 || string(got[0].Key) != "keep" {
				t.Fatalf("dst changed on error: %+v", got)
			}
		})
	}
}

func TestDecodeInputBatch_AcceptsNewerMinor(t *testing.T) {
	frame := AppendInputBatch(nil, sampleRecords())
	frame[6] = 9 // minor 9 of major 1
	if _, err := DecodeInputBatch(frame, nil); err != nil {
		t.Fatalf("minor version must be accepted: %v", err)
	}
}

func TestDecodeOutputBatch_Rejects(t *testing.T) {
	drop := AppendOutputBatch(nil, []Output{{Kind: KindDrop, Input: 0}})
	errOut := AppendOutputBatch(nil, []Output{{Kind: KindError, Input: 1, Err: "boom"}})
	rec := AppendOutputBatch(nil, []Output{{Kind: KindRecord, Input: 0, Record: Record{Key: []byte("k")}}})
	tests := []struct {
		name   string
		frame  []byte
		inputs int
		reason string
	}{
		{"short header", drop[:3], 1, "truncated header"},
		{"bad magic", mutate(drop, func(b []byte) []byte { b[3] = 'X'; return b }), 1, "bad magic"},
		{"major 2", mutate(drop, func(b []byte) []byte { b[4] = 2; return b }), 1, "unsupported version"},
		{"input kind", mutate(drop, func(b []byte) []byte { b[8] = FrameInput; return b }), 1, "frame kind 1, want 2"},
		{"index out of range", drop, 0, "input index 0 out of range (batch has 0 inputs)"},
		{"index max", mutate(drop, put32(17, 0xffffffff)), 5, "out of range"},
		{"unknown kind", mutate(drop, func(b []byte) []byte { b[16] = 3; return b }), 1, "unknown output kind 3"},
		{"truncated count check", drop[:19], 1, "entry count 1 exceeds"},
		{"truncated index", AppendOutputBatch(nil, []Output{{Kind: KindError, Err: "boom"}, {Kind: KindDrop}})[:16+13+3], 1, "truncated input index"},
		{"count too big", mutate(drop, put32(12, 2)), 1, "entry count 2 exceeds"},
		{"error msg past end", mutate(errOut, put32(21, 5)), 2, "error message length 5 past end"},
		{"error msg truncated length", errOut[:23], 2, "truncated error message length"},
		{"record truncated", rec[:len(rec)-2], 1, "truncated metadata count"},
		{"record bad flags", mutate(rec, func(b []byte) []byte { b[21] = 0x80; return b }), 1, "unknown record flags"},
		{"trailing", append(append([]byte(nil), drop...), 1, 2), 1, "2 trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeOutputBatch(tt.frame, tt.inputs, nil)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FrameError", err)
			}
			if !strings.Contains(fe.Reason, tt.reason) {
				t.Fatalf("reason = %q, want it to contain %q", fe.Reason, tt.reason)
			}
			if len(got) != 0 {
				t.Fatalf("dst changed on error: %+v", got)
			}
		})
	}
}

func TestAppendInputBatch_Layout(t *testing.T) {
	frame := AppendInputBatch([]byte("pre"), []Record{{Key: []byte("K"), Payload: []byte("P"), EventTime: 0x0102, HasEventTime: true}})
	want := []byte("pre" + "CVYB" + "\x01\x00" + "\x01\x00" + "\x01\x00\x00\x00" + "\x01\x00\x00\x00" +
		"\x01" + "\x02\x01\x00\x00\x00\x00\x00\x00" + "\x01\x00\x00\x00K" + "\x01\x00\x00\x00P" + "\x00\x00\x00\x00")
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame =\n%q\nwant\n%q", frame, want)
	}
}

func TestAppendOutputBatch_Layout(t *testing.T) {
	frame := AppendOutputBatch(nil, []Output{{Kind: KindError, Input: 3, Err: "e"}, {Kind: KindDrop, Input: 1, Err: "ignored"}})
	want := []byte("CVYB" + "\x01\x00\x01\x00" + "\x02\x00\x00\x00" + "\x02\x00\x00\x00" +
		"\x02" + "\x03\x00\x00\x00" + "\x01\x00\x00\x00e" + "\x01" + "\x01\x00\x00\x00")
	if !bytes.Equal(frame, want) {
		t.Fatalf("frame =\n%q\nwant\n%q", frame, want)
	}
}

func FuzzDecodeInputBatch(f *testing.F) {
	f.Add(AppendInputBatch(nil, nil))
	f.Add(AppendInputBatch(nil, sampleRecords()))
	f.Add(AppendInputBatch(nil, []Record{{Metadata: []KV{{}, {}}}}))
	f.Add([]byte("CVYB\x01\x00\x00\x00\x01\x00\x00\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, src []byte) {
		recs, err := DecodeInputBatch(src, nil)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FrameError: %v", err)
			}
			return
		}
		// A frame that decodes is canonical, except for the minor version
		// which the encoder always writes as Minor.
		again := AppendInputBatch(nil, recs)
		if !bytes.Equal(again[:6], src[:6]) || !bytes.Equal(again[8:], src[8:]) {
			t.Fatalf("re-encoding differs:\n%q\n%q", src, again)
		}
		back, err := DecodeInputBatch(again, nil)
		if err != nil || len(back) != len(recs) {
			t.Fatalf("decode(encode(x)) failed: %v", err)
		}
		for i := range back {
			if !equalRecord(&back[i], &recs[i]) {
				t.Fatalf("record %d differs after round trip", i)
			}
		}
	})
}

func FuzzDecodeOutputBatch(f *testing.F) {
	f.Add(AppendOutputBatch(nil, nil), 0)
	f.Add(AppendOutputBatch(nil, sampleOutputs()), 4)
	f.Add(AppendOutputBatch(nil, []Output{{Kind: KindError, Input: 0, Err: "x"}}), 1)
	f.Fuzz(func(t *testing.T, src []byte, inputs int) {
		outs, err := DecodeOutputBatch(src, inputs, nil)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FrameError: %v", err)
			}
			return
		}
		again := AppendOutputBatch(nil, outs)
		if !bytes.Equal(again[:6], src[:6]) || !bytes.Equal(again[8:], src[8:]) {
			t.Fatalf("re-encoding differs:\n%q\n%q", src, again)
		}
		back, err := DecodeOutputBatch(again, inputs, nil)
		if err != nil || len(back) != len(outs) {
			t.Fatalf("decode(encode(x)) failed: %v", err)
		}
		for i := range back {
			if !equalOutput(&back[i], &outs[i]) {
				t.Fatalf("output %d differs after round trip", i)
			}
		}
	})
}

// benchRecords returns n records with ~200 B of payload, a key and two
// metadata attributes, like the plugin benchmarks.
func benchRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		payload := fmt.Sprintf(`{"id":%d,"user":"user-%04d","msg":"%s"}`, i, i%1000, strings.Repeat("x", 150))
		recs[i] = Record{
			Key:     fmt.Appendf(nil, "key-%d", i),
			Payload: []byte(payload),
			Metadata: []KV{
				{Key: []byte("source"), Value: []byte("bench")},
				{Key: []byte("partition"), Value: []byte("0")},
			},
			EventTime: int64(i) * 1e6, HasEventTime: true,
		}
	}
	return recs
}

func BenchmarkAppendInputBatch(b *testing.B) {
	recs := benchRecords(256)
	buf := make([]byte, 0, InputBatchSize(recs))
	b.SetBytes(int64(cap(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendInputBatch(buf[:0], recs)
	}
}

func BenchmarkDecodeInputBatch(b *testing.B) {
	frame := AppendInputBatch(nil, benchRecords(256))
	dst := make([]Record, 0, 256)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = DecodeInputBatch(frame, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendOutputBatch(b *testing.B) {
	recs := benchRecords(256)
	outs := make([]Output, len(recs))
	for i := range recs {
		outs[i] = Output{Kind: KindRecord, Input: uint32(i), Record: recs[i]}
	}
	buf := make([]byte, 0, OutputBatchSize(outs))
	b.SetBytes(int64(cap(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendOutputBatch(buf[:0], outs)
	}
}

func BenchmarkDecodeOutputBatch(b *testing.B) {
	recs := benchRecords(256)
	outs := make([]Output, len(recs))
	for i := range recs {
		outs[i] = Output{Kind: KindRecord, Input: uint32(i), Record: recs[i]}
	}
	frame := AppendOutputBatch(nil, outs)
	dst := make([]Output, 0, 256)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = DecodeOutputBatch(frame, 256, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecodeOutputBatch_ReusedDstHasNoStaleFields(t *testing.T) {
	dst, err := DecodeOutputBatch(AppendOutputBatch(nil, sampleOutputs()), 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Same positions, different kinds: every stale field must be cleared.
	swapped := []Output{
		{Kind: KindDrop, Input: 0},
		{Kind: KindError, Input: 1, Err: "e"},
		{Kind: KindRecord, Input: 2},
		{Kind: KindRecord, Input: 3, Record: Record{Payload: []byte("p")}},
		{Kind: KindDrop, Input: 0},
	}
	got, err := DecodeOutputBatch(AppendOutputBatch(nil, swapped), 4, dst[:0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range swapped {
		g := got[i]
		if !equalOutput(&g, &swapped[i]) || (g.Kind != KindError && g.Err != "") ||
			(g.Kind != KindRecord && (g.Record.Key != nil || g.Record.Payload != nil || g.Record.Metadata != nil || g.Record.HasEventTime)) ||
			(g.Kind == KindRecord && (g.Record.Key != nil || g.Record.Metadata != nil)) {
			t.Errorf("output %d = %+v, want %+v", i, g, swapped[i])
		}
	}
}

func TestDecodeInputBatch_ReusedDstHasNoStaleFields(t *testing.T) {
	dst, err := DecodeInputBatch(AppendInputBatch(nil, sampleRecords()), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeInputBatch(AppendInputBatch(nil, []Record{{}, {}}), dst[:0])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if r.Key != nil || r.Payload != nil || r.Metadata != nil || r.HasEventTime || r.EventTime != 0 {
			t.Errorf("record %d has stale fields: %+v", i, r)
		}
	}
}

func TestDecodeOutputBatchKV_ReusesMetadataArray(t *testing.T) {
	outs := sampleOutputs()
	frame := AppendOutputBatch(nil, outs)
	kvs := make([]KV, 0, 16)
	got, kvs2, err := DecodeOutputBatchKV(frame, 4, nil, kvs)
	if err != nil {
		t.Fatal(err)
	}
	if &kvs2[:1][0] != &kvs[:1][0] {
		t.Fatal("metadata not stored in the caller's array")
	}
	for i := range got {
		if !equalOutput(&got[i], &outs[i]) {
			t.Errorf("output %d = %+v, want %+v", i, got[i], outs[i])
		}
	}
	// A second call with the returned array reuses it again.
	if _, kvs3, err := DecodeOutputBatchKV(frame, 4, nil, kvs2); err != nil || &kvs3[:1][0] != &kvs[:1][0] {
		t.Fatalf("second call: %v", err)
	}
	// A small array grows and stays usable.
	got, _, err = DecodeOutputBatchKV(frame, 4, nil, make([]KV, 0, 1))
	if err != nil || !equalOutput(&got[0], &outs[0]) {
		t.Fatalf("grown array: %v %+v", err, got[0])
	}
	if _, back, err := DecodeOutputBatchKV(frame[:20], 4, nil, kvs); err == nil || cap(back) != cap(kvs) {
		t.Fatalf("on error the array is not handed back: %v", err)
	}
}

func BenchmarkDecodeOutputBatchKV(b *testing.B) {
	recs := benchRecords(256)
	outs := make([]Output, len(recs))
	for i := range recs {
		outs[i] = Output{Kind: KindRecord, Input: uint32(i), Record: recs[i]}
	}
	frame := AppendOutputBatch(nil, outs)
	dst := make([]Output, 0, 256)
	var kvs []KV
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, kvs, err = DecodeOutputBatchKV(frame, 256, dst[:0], kvs); err != nil {
			b.Fatal(err)
		}
	}
}
