package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// mustCompile compiles p or fails the test.
func mustCompile(t testing.TB, p *Pipeline) *Plan {
	t.Helper()
	pl, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func seedPipeline(t testing.TB) *Plan {
	t.Helper()
	p := &Pipeline{
		ID:      "user-analytics",
		Name:    "User Analytics Pipeline",
		Sources: []Source{{Name: "kafka-users", Type: "generate"}},
		Services: map[string]Service{
			"s3":    {Type: "discard"},
			"kafka": {Type: "discard"},
		},
		Stages: []Stage{
			{ID: "filter", Type: StageFilter, Condition: When(`record.metadata["type"] == "user_event"`)},
			{ID: "fan", Type: StageFanOut, FanOut: &FanOutConfig{Sinks: []FanOutSink{
				{SinkName: "s3"},
				{SinkName: "kafka", Condition: WhenCondition(conditions.And(
					conditions.MetadataEquals("type", "user_event"),
					conditions.MetadataExists("user_id"),
				))},
			}}},
			{ID: "s3", Type: StageSink, ServiceName: "s3"},
			{ID: "kafka", Type: StageSink, ServiceName: "kafka"},
		},
		Edges: []Edge{{From: "source", To: "filter"}, {From: "filter", To: "fan"}},
	}
	pl, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func ids(ss []*Stage) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return strings.Join(out, ",")
}

func TestRoutingEngine_Route_SeedPipeline(t *testing.T) {
	p := seedPipeline(t)
	e := NewRoutingEngine()
	rec := record.New("k", []byte(`{}`))
	rec.Metadata.Set("type", "user_event")
	cases := []struct {
		from string
		meta map[string]string
		want string
	}{
		{"kafka-users", nil, "filter"},
		{"source", nil, "filter"},
		{"filter", nil, "fan"},
		{"fan", map[string]string{"type": "user_event"}, "s3"},
		{"fan", map[string]string{"type": "user_event", "user_id": "7"}, "s3,kafka"},
		{"fan", map[string]string{"type": "click", "user_id": "7"}, "s3"},
	}
	for _, c := range cases {
		r := record.New("k", []byte(`{}`))
		for k, v := range c.meta {
			r.Metadata.Set(k, v)
		}
		got, err := e.Route(p, c.from, r)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != c.want {
			t.Errorf("Route(%s, %v) = %s, want %s", c.from, c.meta, ids(got), c.want)
		}
	}
	if _, err := e.Route(p, "nope", rec); err == nil {
		t.Error("unknown stage must be an error")
	}
}

func TestRoutingEngine_Route_UnmatchedError(t *testing.T) {
	p := &Pipeline{
		ID:       "u",
		Settings: Settings{Unmatched: UnmatchedError},
		Sources:  []Source{{Name: "in", Type: "generate"}},
		Services: map[string]Service{"out": {Type: "discard"}},
		Stages:   []Stage{{ID: "s", Type: StageSink, ServiceName: "out"}},
		Edges:    []Edge{{From: "in", To: "s", Condition: When(`record.key == "a"`)}},
	}
	pl := mustCompile(t, p)
	e := NewRoutingEngine()
	got, err := e.Route(pl, "in", record.New("a", nil))
	if err != nil || ids(got) != "s" {
		t.Fatalf("got %v %v", ids(got), err)
	}
	_, err = e.Route(pl, "in", record.New("b", nil))
	if !errors.Is(err, ErrUnmatched) {
		t.Fatalf("want ErrUnmatched, got %v", err)
	}
	if pl.UnmatchedPolicy("s") != UnmatchedError {
		t.Fatal("policy lookup")
	}
}

func TestRoutingEngine_Route_ConditionError(t *testing.T) {
	p := &Pipeline{
		ID:       "c",
		Sources:  []Source{{Name: "in", Type: "generate"}},
		Services: map[string]Service{"out": {Type: "discard"}},
		Stages:   []Stage{{ID: "s", Type: StageSink, ServiceName: "out"}},
		Edges:    []Edge{{From: "in", To: "s", Condition: When(`record.payload.n > 1`)}},
	}
	_, err := NewRoutingEngine().Route(mustCompile(t, p), "in", record.New("", []byte(`not json`)))
	if err == nil || !strings.Contains(err.Error(), `stage "in" -> "s"`) {
		t.Fatalf("want a condition error naming the edge, got %v", err)
	}
}

func TestRoutingEngine_Route_LoadBalancedFanOut(t *testing.T) {
	p := &Pipeline{
		ID:       "lb",
		Sources:  []Source{{Name: "in", Type: "generate"}},
		Services: map[string]Service{"out": {Type: "discard"}},
		Stages: []Stage{
			{ID: "fan", Type: StageFanOut, FanOut: &FanOutConfig{Strategy: Hash, Sinks: []FanOutSink{{SinkName: "a"}, {SinkName: "b"}, {SinkName: "c"}}}},
			{ID: "a", Type: StageSink, ServiceName: "out"},
			{ID: "b", Type: StageSink, ServiceName: "out"},
			{ID: "c", Type: StageSink, ServiceName: "out"},
		},
		Edges: []Edge{{From: "in", To: "fan"}},
	}
	pl := mustCompile(t, p)
	e := NewRoutingEngine()
	seen := map[string]int{}
	for i := 0; i < 300; i++ {
		key := string(rune('a' + i%26))
		got, err := e.Route(pl, "fan", record.New(key, nil))
		if err != nil || len(got) != 1 {
			t.Fatalf("want exactly one target, got %v %v", ids(got), err)
		}
		again, _ := e.Route(pl, "fan", record.New(key, nil))
		if again[0] != got[0] {
			t.Fatalf("hash routing not stable for key %q", key)
		}
		seen[got[0].ID]++
	}
	if len(seen) != 3 {
		t.Fatalf("26 keys should spread over 3 targets, got %v", seen)
	}
}

func BenchmarkRoute_MetadataEquals(b *testing.B) {
	p := &Pipeline{
		ID:       "b",
		Sources:  []Source{{Name: "in", Type: "generate"}},
		Services: map[string]Service{"out": {Type: "discard"}},
		Stages:   []Stage{{ID: "s", Type: StageSink, ServiceName: "out"}},
		Edges:    []Edge{{From: "in", To: "s", Condition: When(`record.metadata["type"] == "user_event"`)}},
	}
	pl := mustCompile(b, p)
	e := NewRoutingEngine()
	r := record.New("k", []byte(`{}`))
	r.Metadata.Set("type", "user_event")
	r.Metadata.Set("user_id", "42")
	b.ReportAllocs()
	for b.Loop() {
		got, err := e.Route(pl, "in", r)
		if err != nil || len(got) != 1 {
			b.Fatal(got, err)
		}
	}
}

// payload200 is a 200-byte JSON payload.
var payload200 = []byte(`{"id":123456,"user_id":"u000042","type":"user_event","active":true,"plan":"pro","amount":1234.56,"ts":1767225600704,"tags":["a","b","c"],"geo":{"country":"NZ","city":"Wellington"},"pad":"xxxxxxxxxx"}`)

func BenchmarkRoute_PayloadField(b *testing.B) { benchRoutePayload(b, false) }

// BenchmarkRoute_PayloadFieldValidated is BenchmarkRoute_PayloadField for
// records whose source validated the JSON (the file and generate sources
// do): the condition scans the bytes instead of parsing them.
func BenchmarkRoute_PayloadFieldValidated(b *testing.B) { benchRoutePayload(b, true) }

// benchRoutePayload routes a fresh record each time (so the JSON parse or
// scan is part of the cost) on a condition over a nested payload field.
func benchRoutePayload(b *testing.B, validated bool) {
	p := &Pipeline{
		ID:       "b",
		Sources:  []Source{{Name: "in", Type: "generate"}},
		Services: map[string]Service{"out": {Type: "discard"}},
		Stages:   []Stage{{ID: "s", Type: StageSink, ServiceName: "out"}},
		Edges:    []Edge{{From: "in", To: "s", Condition: When(`record.payload.geo.country == "NZ"`)}},
	}
	pl := mustCompile(b, p)
	e := NewRoutingEngine()
	recs := make([]record.Record, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload200)))
	i := 0
	for b.Loop() {
		r := &recs[i%len(recs)]
		*r = record.Record{Payload: payload200}
		if validated {
			r.MarkValidJSON()
		}
		i++
		got, err := e.Route(pl, "in", r)
		if err != nil || len(got) != 1 {
			b.Fatal(got, err)
		}
		r.Release() // as the runtime does when the record's path ends
	}
}

// An else-edge takes exactly the records no other edge from its node
// takes, in Route and in a run; the same for a fan-out's else-target.
func TestRoute_ElseEdges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, `{"n":%d}`+"\n", i)
	}
	writeFile(t, dir, "in.jsonl", in.String())
	p, err := Load(writeFile(t, dir, "p.yaml", `id: else
sources: [{name: in, type: file, path: in.jsonl}]
services:
  small: {type: file, path: small.jsonl}
  big: {type: file, path: big.jsonl}
  odd: {type: file, path: odd.jsonl}
  even: {type: file, path: even.jsonl}
stages:
  - {id: fo, type: fan_out, fan_out: {sinks: [{sink_name: o, condition: 'record.payload.n % 2 == 1'}, {sink_name: e, otherwise: true}]}}
  - {id: s, type: sink, service_name: small}
  - {id: b, type: sink, service_name: big}
  - {id: o, type: sink, service_name: odd}
  - {id: e, type: sink, service_name: even}
edges:
  - {from: in, to: s, condition: 'record.payload.n < 10'}
  - {from: in, to: b, condition: 'record.payload.n >= 20'}
  - {from: in, to: fo, condition: else}
`))
	if err != nil {
		t.Fatal(err)
	}
	e := NewRoutingEngine()
	for n, want := range map[int]string{3: "s", 15: "fo", 25: "b"} {
		got, err := e.Route(p, "in", record.New("", fmt.Appendf(nil, `{"n":%d}`, n)))
		if err != nil || ids(got) != want {
			t.Errorf("Route n=%d: %v %v, want %s", n, ids(got), err, want)
		}
	}
	r, err := NewRunner(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil || sum.Delivered != 30 || !sum.Balanced() {
		t.Fatalf("%s %v", sum, err)
	}
	for n, want := range map[int]string{15: "o", 16: "e"} {
		got, err := e.Route(p, "fo", record.New("", fmt.Appendf(nil, `{"n":%d}`, n)))
		if err != nil || ids(got) != want {
			t.Errorf("Route fo n=%d: %v %v, want %s", n, ids(got), err, want)
		}
	}
	for f, want := range map[string]int{"small.jsonl": 10, "big.jsonl": 10, "odd.jsonl": 5, "even.jsonl": 5} {
		if got := len(readLines(t, filepath.Join(dir, f))); got != want {
			t.Errorf("%s: %d lines, want %d", f, got, want)
		}
	}
	if err := compileErr(t, `id: x
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s, condition: 'true', otherwise: true}]
`); err == nil || !strings.Contains(err.Error(), "p.yaml:5:9: an else-edge (otherwise: true) cannot have a condition") {
		t.Fatalf("err = %v", err)
	}
}
