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
		{`record.payload.a == "x"`, true},
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

// TestFastPath_PayloadMatchesInterpreter compares the payload scan with
// the interpreter on payloads of every shape: found, missing, other types,
// escapes, nesting, null, not JSON, and an already parsed payload.
func TestFastPath_PayloadMatchesInterpreter(t *testing.T) {
	exprs := []struct {
		expr string
		fast bool
	}{
		{`record.payload.type == "user_event"`, true},
		{`"user_event" != record.payload.type`, true},
		{`record.payload.user.country == "NZ"`, true},
		{`record.payload.active == true`, true},
		{`false == record.payload.active`, true},
		{`record.payload.active != false`, true},
		{`record.payload.active`, true},
		{`record.payload.user.vip`, true},
		{`record.payload.n == 1`, false},
		{`record.payload["type"] == "user_event"`, false},
	}
	payloads := []string{
		`{"type":"user_event","active":true,"user":{"country":"NZ","vip":false},"n":1}`,
		`{"type":"click","active":false,"user":{"country":"GB","vip":true}}`,
		`{"type":"user\u005fevent","active":"yes","user":{"country":null}}`,
		`{"type":1,"active":1,"user":"flat"}`,
		`{"other":1}`,
		`{"user":{}}`,
		`[1,2,3]`,
		`"just a string"`,
		`not json`,
		`{"type":"user_event","active":true,"user":{"country":"NZ","vip":true}`,
		``,
	}
	env := newEnv(t)
	for _, c := range exprs {
		t.Run(c.expr, func(t *testing.T) {
			p, err := env.Compile(c.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if (p.fast != nil) != c.fast {
				t.Fatalf("fast path taken = %v, want %v", p.fast != nil, c.fast)
			}
			slow := *p
			slow.fast = nil
			for _, pl := range payloads {
				for _, parsed := range []bool{false, true} {
					r, ref := record.New("", []byte(pl)), record.New("", []byte(pl))
					if parsed {
						r.JSON()
					} else if r.ValidJSON() {
						r.MarkValidJSON() // as a source does; only then is the scan used
					}
					gotOK, gotErr := p.Eval(r)
					wantOK, wantErr := slow.Eval(ref)
					if gotOK != wantOK || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
						t.Fatalf("payload %s (parsed %v): fast = %v, %v; interpreter = %v, %v", pl, parsed, gotOK, gotErr, wantOK, wantErr)
					}
				}
			}
		})
	}
}

func TestFastPath_PayloadScanSkipsTheParse(t *testing.T) {
	env := newEnv(t)
	p, err := env.Compile(`record.payload.type == "user_event"`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	r := record.New("", []byte(`{"type":"user_event","n":1}`))
	r.MarkValidJSON()
	if ok, err := p.Eval(r); !ok || err != nil || r.Parsed() {
		t.Fatalf("validated payload: %v, %v, parsed %v (want true, nil, not parsed)", ok, err, r.Parsed())
	}
	u := record.New("", []byte(`{"type":"user_event","n":1}`))
	if ok, err := p.Eval(u); !ok || err != nil || !u.Parsed() {
		t.Fatalf("unvalidated payload: %v, %v, parsed %v (want true, nil, parsed)", ok, err, u.Parsed())
	}
}
