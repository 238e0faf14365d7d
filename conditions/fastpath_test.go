package conditions

import (
	"fmt"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestFastPath_MatchesInterpreter(t *testing.T) {
	tests := []struct {
		expr string
		fast bool
	}{
		{`record.metadata["type"] == "user_event"`, true},
		{`"user_event" == record.metadata["type"]`, true},
		{`record.metadata["type"] != "user_event"`, true},
		{`record.key == "k1"`, true},
		{`"k1" != record.key`, true},
		{`record.source == "kafka"`, true},
		{`"type" in record.metadata`, true},
		{`record.metadata["type"] == record.key`, false},
		{`record.metadata.type == "user_event"`, true},
		{`has(record.metadata.type)`, false},
		{`record.payload.a == "x"`, false},
		{`"x" in record.payload`, false},
		{`record.key.startsWith("k")`, false},
	}
	recs := []*record.Record{record.New("k1", nil), record.New("k2", nil), record.New("k1", nil)}
	recs[0].Metadata.Set("type", "user_event")
	recs[0].Source = "kafka"
	recs[1].Metadata.Set("type", "other")
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := env.Compile(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if (p.fast != nil) != tt.fast {
				t.Fatalf("fast path taken = %v, want %v", p.fast != nil, tt.fast)
			}
			slow := *p
			slow.fast = nil
			for i, r := range recs {
				r.Payload = []byte(`{"a":"x"}`)
				gotOK, gotErr := p.Eval(r)
				wantOK, wantErr := slow.Eval(r)
				if gotOK != wantOK || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("record %d: fast = %v, %v; interpreter = %v, %v", i, gotOK, gotErr, wantOK, wantErr)
				}
				if w, werr := p.EvalWatermark(r, 1); w != gotOK || fmt.Sprint(werr) != fmt.Sprint(gotErr) {
					t.Fatalf("record %d: EvalWatermark differs from Eval", i)
				}
			}
		})
	}
}
