package conditions

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// payload200 is a 200-byte JSON payload, the size the engine's routing
// targets are stated for.
var payload200 = []byte(`{"user":{"id":"u-123456","name":"Ada Lovelace","age":36,"country":"GB"},"event":"page_view","page":"/docs/conditions","ts":1767225600123,"tags":["a","b"],"score":4.5,"ok":true}`)

func mustCompile(b testing.TB, expr string) *Program {
	b.Helper()
	env, err := NewEnv()
	if err != nil {
		b.Fatal(err)
	}
	p, err := env.Compile(expr, Source{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkProgram_Eval_MetadataEquals(b *testing.B) {
	p := mustCompile(b, `record.metadata["type"] == "user_event"`)
	r := record.New("k", payload200)
	r.Metadata.Set("source", "kafka")
	r.Metadata.Set("type", "user_event")
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkProgram_Eval_PayloadField(b *testing.B) {
	p := mustCompile(b, `record.payload.user.age > 30`)
	b.ReportAllocs()
	for b.Loop() {
		r := record.New("k", payload200)
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkProgram_Eval_PayloadFieldParsed(b *testing.B) {
	p := mustCompile(b, `record.payload.user.age > 30`)
	r := record.New("k", payload200)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkRecord_JSON_Parse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := record.New("k", payload200)
		if _, err := r.JSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMetadataEquals_Eval(b *testing.B) {
	c := MetadataEquals("type", "user_event")
	r := record.New("k", payload200)
	r.Metadata.Set("source", "kafka")
	r.Metadata.Set("type", "user_event")
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := c.Eval(r); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
