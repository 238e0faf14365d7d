package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

var (
	benchInputOnce sync.Once
	benchInputDir  string
)

// benchInput writes (once per process) a JSON Lines file of n ~100-byte
// events, like the generate source's.
func benchInput(b *testing.B, n int) string {
	benchInputOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conveyor-bench-")
		if err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		types := []string{"user_event", "click", "view", "purchase"}
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, `{"id":%d,"user_id":"u%d","type":"%s","active":%t,"amount":%d.5,"ts":%d,"pad":"xxxxxxxx"}`+"\n",
				i, i%1000, types[i%4], i%2 == 0, i%997, 1767225600000+int64(i))
		}
		if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		benchInputDir = dir
	})
	return benchInputDir
}

func benchPipeline(b *testing.B, stages string) {
	const n = 200_000
	dir := benchInput(b, n)
	src := `id: bench
sources: [{name: events, type: file, path: events.jsonl}]
` + stages
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewRunner(p, RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := r.Run(context.Background())
		if err != nil || sum.In != n || !sum.Balanced() {
			b.Fatal(sum, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkPipeline_FilePassthrough(b *testing.B) {
	benchPipeline(b, `services: {out: {type: file, path: out/pass.jsonl}}
stages: [{id: out, type: sink, service_name: out}]
edges: [{from: events, to: out}]
`)
}

func BenchmarkPipeline_FileFilterFanOut(b *testing.B) {
	benchPipeline(b, `services:
  all: {type: file, path: out/all.jsonl}
  purchases: {type: file, path: out/purchases.jsonl}
stages:
  - {id: active, type: filter, condition: "record.payload.active == true"}
  - id: fan
    type: fan_out
    fan_out:
      sinks:
        - sink_name: all
        - sink_name: purchases
          condition: record.payload.type == "purchase"
  - {id: all, type: sink, service_name: all}
  - {id: purchases, type: sink, service_name: purchases}
edges: [{from: events, to: active}, {from: active, to: fan}]
`)
}

// BenchmarkMapping_SetComputedField is the mapping stage alone on what a
// file source hands it: batches of 1024 ~100-byte orders, validated and
// not parsed, total = price * qty (BenchmarkMapping_Process runs the
// same on records nobody validated, which the stage must parse).
func BenchmarkMapping_SetComputedField(b *testing.B) {
	plan, err := Load(writeFile(b, b.TempDir(), "p.yaml", `id: m
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages:
  - {id: m, type: mapping, set: {total: "record.payload.price * double(record.payload.qty)"}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: m}, {from: m, to: s}]
`))
	if err != nil {
		b.Fatal(err)
	}
	m := plan.byID["m"].impl.(*mappingProc)
	const n = 1024
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = []byte(orderLine(i))
	}
	in := make([]*record.Record, n)
	out := make([]*record.Record, 0, n)
	bc := &batchCtx{stage: "m"}
	b.SetBytes(int64(n * len(payloads[0])))
	for b.Loop() {
		b.StopTimer()
		for i := range in {
			if in[i] != nil {
				in[i].Release()
			}
			in[i] = record.New("", payloads[i])
			in[i].MarkValidJSON() // as the file source does
		}
		b.StartTimer()
		out = m.process(context.Background(), bc, in, out[:0])
		if len(out) != n || len(bc.dl) > 0 {
			b.Fatalf("%d out, %d dead letters", len(out), len(bc.dl))
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	if got := string(out[3].Payload); !strings.HasSuffix(got, `,"total":13}`) {
		b.Fatalf("payload %s", got)
	}
}
