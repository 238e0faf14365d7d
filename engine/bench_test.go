package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
func BenchmarkMapping_SetComputedField(b *testing.B) { benchMapping(b, true) }
