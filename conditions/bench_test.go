package conditions

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// payload200 is a 200-byte JSON payload, the size the engine's routing
// targets are stated for.
var payload200 = []byte(`{"user":{"id":"u-123456","name":"Ada Lovelace","age":36,"country":"GB"},"event":"page_view","page":"/docs/conditions","ts":1767225600123,"tags":["a","b"],"score":4.5,"ok":true,"ref":"campaign-2026-s"}`)

func TestPayload200_Size(t *testing.T) {
	if len(payload200) != 200 {
		t.Fatalf("benchmark payload is %d bytes, want 200", len(payload200))
	}
}

func userEventRecord() *record.Record {
	r := record.New("k", payload200)
	r.Metadata.Set("source", "kafka")
	r.Metadata.Set("type", "user_event")
	return r
}

func BenchmarkProgram_Eval_MetadataEquals(b *testing.B) {
	p := compileT(b, `record.metadata["type"] == "user_event"`)
	r := userEventRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkProgram_Eval_MetadataEqualsInterpreted is the same condition
// through the CEL interpreter, the fast path disabled: the cost of any
// expression of similar shape the fast path does not know.
func BenchmarkProgram_Eval_MetadataEqualsInterpreted(b *testing.B) {
	p := compileT(b, `record.metadata["type"] == "user_event"`)
	p.fast = nil
	r := userEventRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkProgram_Eval_Key(b *testing.B) {
	p := compileT(b, `record.key == "k"`)
	r := userEventRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkProgram_EvalWatermark_MetadataEquals(b *testing.B) {
	p := compileT(b, `record.metadata["type"] == "user_event"`)
	r := userEventRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalWatermark(r, 1); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkProgram_Eval_PayloadField is the engine's payload routing case:
// a fresh record each iteration, so the JSON parse is counted, released at
// the end of its path as the engine does (which recycles its parser).
func BenchmarkProgram_Eval_PayloadField(b *testing.B) {
	p := compileT(b, `record.payload.user.age > 30`)
	b.ReportAllocs()
	for b.Loop() {
		r := record.New("k", payload200)
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
		r.Release()
	}
}

// BenchmarkProgram_Eval_PayloadFieldNoRelease is the same without
// Release: every record parses with a new parser.
func BenchmarkProgram_Eval_PayloadFieldNoRelease(b *testing.B) {
	p := compileT(b, `record.payload.user.age > 30`)
	b.ReportAllocs()
	for b.Loop() {
		r := record.New("k", payload200)
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkProgram_Eval_PayloadFieldParsed is the evaluation alone, the
// payload already parsed (a second condition on the same record).
func BenchmarkProgram_Eval_PayloadFieldParsed(b *testing.B) {
	p := compileT(b, `record.payload.user.age > 30`)
	r := record.New("k", payload200)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkProgram_Eval_PayloadString(b *testing.B) {
	p := compileT(b, `record.payload.user.country == "GB" && record.payload.event.startsWith("page")`)
	r := record.New("k", payload200)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkRecord_JSONRelease is the parse alone, as the payload
// benchmarks do it: a fresh record, parsed once, released.
func BenchmarkRecord_JSONRelease(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := record.New("k", payload200)
		if _, err := r.JSON(); err != nil {
			b.Fatal(err)
		}
		r.Release()
	}
}

func BenchmarkMetadataEquals_Eval(b *testing.B) {
	c := MetadataEquals("type", "user_event")
	r := userEventRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := c.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkPayloadField_Eval(b *testing.B) {
	c, err := PayloadField("user.age", OpGt, 30)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := record.New("k", payload200)
		if ok, err := c.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
		r.Release()
	}
}

func BenchmarkEnv_Compile(b *testing.B) {
	env := newEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Compile(`record.metadata["type"] == "user_event" && record.payload.user.age > 30`, Source{}); err != nil {
			b.Fatal(err)
		}
	}
}

// payload100 is a record of the engine's benchmark data (examples/bench):
// about 100 bytes, the amount a double in the middle.
var payload100 = []byte(`{"id":1,"user_id":"u644","type":"user_event","active":true,"amount":512.95,"ts":1767225599666,"country":"DE"}`)

// validatedRecord returns a record whose payload its source validated
// and nobody parsed, as the file source hands it to the first condition.
func validatedRecord() *record.Record {
	r := record.New("k", payload100)
	r.MarkValidJSON()
	return r
}

func benchScan(b *testing.B, expr string) {
	p := compileT(b, expr)
	if p.fast == nil {
		b.Fatal("no fast path")
	}
	r := validatedRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil || r.Parsed() {
			b.Fatal(ok, err)
		}
	}
}

// benchInterpreted is the same expression through the interpreter on a
// fresh validated record each iteration, released as the engine does: the
// cost of a payload condition without the scan (the parse included).
func benchInterpreted(b *testing.B, expr string) {
	p := compileT(b, expr)
	p.fast = nil
	b.ReportAllocs()
	for b.Loop() {
		r := validatedRecord()
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
		r.Release()
	}
}

const (
	exprAmount     = `record.payload.amount > 500`
	exprCountryIn  = `record.payload.country in ["DE", "FR"]`
	exprAmountAndC = `record.payload.amount > 500 && record.payload.country != "XX"`
)

func BenchmarkProgram_Eval_ScanAmountGt(b *testing.B)           { benchScan(b, exprAmount) }
func BenchmarkProgram_Eval_InterpretedAmountGt(b *testing.B)    { benchInterpreted(b, exprAmount) }
func BenchmarkProgram_Eval_ScanCountryIn(b *testing.B)          { benchScan(b, exprCountryIn) }
func BenchmarkProgram_Eval_InterpretedCountryIn(b *testing.B)   { benchInterpreted(b, exprCountryIn) }
func BenchmarkProgram_Eval_ScanAmountAndNe(b *testing.B)        { benchScan(b, exprAmountAndC) }
func BenchmarkProgram_Eval_InterpretedAmountAndNe(b *testing.B) { benchInterpreted(b, exprAmountAndC) }

// benchCostLimit is an interpreted condition on a parsed payload, with the
// Env's cost limit as given: the cost of runtime cost tracking.
func benchCostLimit(b *testing.B, expr string, opts ...EnvOption) {
	env, err := NewEnv(opts...)
	if err != nil {
		b.Fatal(err)
	}
	p, err := env.Compile(expr, Source{})
	if err != nil {
		b.Fatal(err)
	}
	p.fast = nil
	r := userEventRecord()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

const exprCostBench = `record.payload.user.age > 30 && record.metadata["type"] == "user_event"`

func BenchmarkProgram_Eval_CostLimitDefault(b *testing.B) { benchCostLimit(b, exprCostBench) }
func BenchmarkProgram_Eval_CostLimitOff(b *testing.B) {
	benchCostLimit(b, exprCostBench, WithCostLimit(0))
}

// A comprehension is always tracked: the same with tracking off.
const exprCostTracked = `record.payload.tags.exists(t, t == "b")`

func BenchmarkProgram_Eval_CostTracked(b *testing.B) { benchCostLimit(b, exprCostTracked) }
func BenchmarkProgram_Eval_CostTrackedOff(b *testing.B) {
	benchCostLimit(b, exprCostTracked, WithCostLimit(0))
}
