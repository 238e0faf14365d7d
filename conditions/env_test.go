package conditions

import (
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func newEnv(t testing.TB, opts ...EnvOption) *Env {
	t.Helper()
	env, err := NewEnv(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestEnv_Compile_EveryVariableReadable(t *testing.T) {
	env := newEnv(t)
	r := record.New("user-1", []byte(`{"a":1}`))
	r.Metadata.Set("type", "user_event")
	r.Source = "kafka-1"
	r.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	wm := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixNano()
	tests := []string{
		`record.key == "user-1"`,
		`record.payload.a == 1`,
		`record.metadata["type"] == "user_event"`,
		`record.event_time == timestamp("2026-01-02T03:04:05Z")`,
		`record.has_event_time`,
		`record.source == "kafka-1"`,
		`watermark == timestamp("2026-01-02T03:00:00Z")`,
		`record.event_time - watermark == duration("245s")`,
	}
	for _, expr := range tests {
		t.Run(expr, func(t *testing.T) {
			p, err := env.Compile(expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			ok, err := p.EvalWatermark(r, wm)
			if err != nil || !ok {
				t.Fatalf("EvalWatermark = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestEnv_Compile_Extensions(t *testing.T) {
	env := newEnv(t)
	r := record.New("Key-1", nil)
	for _, expr := range []string{
		`record.key.lowerAscii() == "key-1"`,
		`record.key.split("-")[1] == "1"`,
		`math.greatest(1, 5, 3) == 5`,
		`[3, 1, 2].sort() == [1, 2, 3]`,
		`optional.of(1).orValue(2) == 1`,
		`1 < 1.5 && 2u > 1`,
	} {
		p, err := env.Compile(expr, Source{})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if ok, err := p.Eval(r); !ok || err != nil {
			t.Fatalf("%s = %v, %v; want true", expr, ok, err)
		}
	}
}

func TestWithSourceFile_ExactBlockPositions(t *testing.T) {
	text := "edges:\n  - when: |\n      record.key == \"x\" &&\n        recrd.y\n"
	env := newEnv(t, WithSourceFile("p.yaml", []byte(text)))
	_, err := env.Compile("record.key == \"x\" &&\n  recrd.y\n", Source{File: "p.yaml", Line: 2, Col: 11, Block: true})
	if err == nil || !strings.HasPrefix(err.Error(), "p.yaml:4:9: undeclared reference to 'recrd'") {
		t.Fatalf("err = %v", err)
	}
}
