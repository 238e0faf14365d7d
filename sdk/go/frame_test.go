package conveyor

import (
	"bytes"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

func TestFrameWriter_Finish_EmptyBatch(t *testing.T) {
	var w frameWriter
	w.reset()
	got := w.finish()
	if want := abi.AppendOutputBatch(nil, nil); !bytes.Equal(got, want) {
		t.Fatalf("empty frame = %x, want %x (abi's encoding)", got, want)
	}
}

// TestFrameWriter_Emit_MatchesABI checks the SDK's streaming encoder against
// abi.AppendOutputBatch byte for byte.
func TestFrameWriter_Emit_MatchesABI(t *testing.T) {
	et := time.Unix(0, 1_700_000_000_000_000_001)
	tests := []struct {
		name string
		r    Record
		want abi.Record
	}{
		{"empty", Record{}, abi.Record{}},
		{"key and payload", Record{Key: "k", Payload: []byte("p")}, abi.Record{Key: []byte("k"), Payload: []byte("p")}},
		{"event time", Record{EventTime: et}, abi.Record{EventTime: et.UnixNano(), HasEventTime: true}},
		{"epoch is an event time", Record{EventTime: time.Unix(0, 0)}, abi.Record{HasEventTime: true}},
		{"metadata", Record{Metadata: Metadata{{"a", "1"}, {"", ""}}},
			abi.Record{Metadata: []abi.KV{{Key: []byte("a"), Value: []byte("1")}, {}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w frameWriter
			w.reset()
			w.input, w.active = 7, true
			w.Emit(tt.r)
			w.appendError(9, "boom")
			got := w.finish()
			want := abi.AppendOutputBatch(nil, []abi.Output{
				{Kind: abi.KindRecord, Input: 7, Record: tt.want},
				{Kind: abi.KindError, Input: 9, Err: "boom"},
			})
			if !bytes.Equal(got, want) {
				t.Fatalf("frame\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestFrameWriter_Rollback_DiscardsEntries(t *testing.T) {
	var w frameWriter
	w.reset()
	w.active = true
	w.Emit(Record{Key: "kept"})
	m := w.mark()
	w.input = 1
	w.Emit(Record{Key: "gone"})
	w.Emit(Record{Key: "gone too"})
	w.rollback(m)
	w.appendError(1, "failed")
	outs, err := abi.DecodeOutputBatch(w.finish(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || string(outs[0].Record.Key) != "kept" || outs[1].Kind != abi.KindError || outs[1].Err != "failed" {
		t.Fatalf("outputs after rollback = %+v", outs)
	}
}

// FuzzFrameWriter_Emit: whatever a transform emits decodes with abi to the
// same record.
func FuzzFrameWriter_Emit(f *testing.F) {
	f.Add("key", []byte(`{"a":1}`), "mk", "mv", int64(0), "")
	f.Add("", []byte{}, "", "", int64(-1), "error text")
	f.Add("\xff", []byte{0, 1, 2}, "k\x00", "\xfe", int64(1<<62), "ü")
	f.Fuzz(func(t *testing.T, key string, payload []byte, mk, mv string, et int64, errMsg string) {
		r := Record{Key: key, Payload: payload, Metadata: Metadata{{mk, mv}}}
		if et != 0 {
			r.EventTime = time.Unix(0, et)
		}
		var w frameWriter
		w.reset()
		w.active = true
		w.Emit(r)
		w.appendError(0, errMsg)
		outs, err := abi.DecodeOutputBatch(w.finish(), 1, nil)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		got := outs[0].Record
		if len(outs) != 2 || string(got.Key) != key || !bytes.Equal(got.Payload, payload) ||
			len(got.Metadata) != 1 || string(got.Metadata[0].Key) != mk || string(got.Metadata[0].Value) != mv ||
			got.HasEventTime != (et != 0) || got.EventTime != et || outs[1].Err != errMsg {
			t.Fatalf("round trip of %+v / %q gave %+v", r, errMsg, outs)
		}
	})
}
