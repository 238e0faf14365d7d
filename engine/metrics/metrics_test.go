package metrics

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

var update = flag.Bool("update", false, "rewrite docs/metrics.md")

const pipeline = `id: m
settings: {dead_letter: dl, late_records: route, late_route: late}
sources:
  - {name: gen, type: generate, count: 5000, watermark: {}}
services:
  out: {type: file, path: out.jsonl}
  dl: {type: file, path: dl.jsonl}
stages:
  - {id: f, type: filter, condition: "record.payload.amount > 10.0"}
  - {id: fan, type: fan_out, fan_out: {sinks: [{sink_name: s}, {sink_name: s2, condition: "record.payload.type == 'click'"}]}}
  - {id: s, type: sink, service_name: out}
  - {id: s2, type: sink, service_name: out}
  - {id: late, type: sink, service_name: out}
edges:
  - {from: gen, to: f}
  - {from: f, to: fan}
`

func load(t testing.TB, text string) *engine.Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	pl, err := engine.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// values flattens gathered metrics to "name{l=v,...}" -> value (counters,
// gauges; histograms as their sample count).
func values(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			k := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[k] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[k] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[k] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics_CountersMatchTheSummary(t *testing.T) {
	t.Parallel()
	pl := load(t, pipeline)
	m := New(pl)
	r, err := engine.NewRunner(pl, engine.RunOptions{Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	m.Bind(r)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := values(t, reg)
	want := map[string]float64{
		"conveyor_records_in_total{}":                           float64(sum.In),
		"conveyor_records_total{outcome=delivered}":             float64(sum.Delivered),
		"conveyor_records_total{outcome=filtered}":              float64(sum.Filtered),
		"conveyor_records_in_flight{}":                          0,
		"conveyor_dead_letters_written_total{sink=dl}":          float64(sum.DeadLetters.Written),
		"conveyor_stage_info{service=out,stage=s,type=sink}":    1,
		"conveyor_stage_info{service=,stage=gen,type=generate}": 1,
	}
	for _, st := range sum.Stages {
		in, out := st.In, st.Out
		if st.Type == "source" {
			in = st.Out // a source reads what it emits
		}
		want[fmt.Sprintf("conveyor_stage_records_in_total{stage=%s}", st.ID)] = float64(in)
		if st.Type != "source" {
			want[fmt.Sprintf("conveyor_stage_records_out_total{stage=%s}", st.ID)] = float64(out)
			want[fmt.Sprintf("conveyor_stage_queue_depth_batches{stage=%s}", st.ID)] = 0
			want[fmt.Sprintf("conveyor_stage_parallelism{stage=%s}", st.ID)] = float64(st.Parallelism)
		}
	}
	for _, e := range sum.Edges {
		if e.Records > 0 {
			want[fmt.Sprintf("conveyor_edge_records_total{from=%s,to=%s}", e.From, e.To)] = float64(e.Records)
		}
	}
	for _, sk := range sum.Sinks {
		if sk.Name == "dl" {
			continue
		}
		want[fmt.Sprintf("conveyor_sink_records_written_total{sink=%s}", sk.Name)] = float64(sk.Written)
		want[fmt.Sprintf("conveyor_sink_records_flushed_total{sink=%s}", sk.Name)] = float64(sk.Written)
	}
	if sum.Delivered == 0 || sum.Filtered == 0 {
		t.Fatalf("the run should deliver and filter: %s", sum)
	}
	for k, w := range want {
		if got, ok := v[k]; !ok || got != w {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
	if v["conveyor_stage_batches_total{stage=f}"] == 0 || v["conveyor_stage_batch_duration_seconds{stage=f}"] != v["conveyor_stage_batches_total{stage=f}"] {
		t.Errorf("batches %v, latency samples %v", v["conveyor_stage_batches_total{stage=f}"], v["conveyor_stage_batch_duration_seconds{stage=f}"])
	}
}

func TestMetrics_LagIsZeroWhenAhead(t *testing.T) {
	t.Parallel()
	m := New(load(t, pipeline))
	ahead := time.Now().Add(time.Hour) // a generator's event times run ahead of the clock
	m.Bind(fakeSummary{engine.Summary{Sources: []engine.SourceProgress{{Source: "gen", Watermark: ahead, Lag: -time.Hour, State: "active"}}}})
	v := values(t, registry(m))
	if lag, ok := v["conveyor_source_watermark_lag_seconds{source=gen}"]; !ok || lag != 0 {
		t.Errorf("lag %v (present %v), want 0", lag, ok)
	}
	if wm := v["conveyor_source_watermark_seconds{source=gen}"]; wm != unixSeconds(ahead) {
		t.Errorf("watermark %v, want %v", wm, unixSeconds(ahead))
	}
}

func TestMetrics_DeadLettersByKind(t *testing.T) {
	t.Parallel()
	pl := load(t, `id: d
sources: [{name: in, type: generate, count: 300}]
services: {out: {type: discard}}
stages:
  - {id: f, type: filter, condition: "record.payload.type == 'click'"}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: in, to: f}
  - {from: f, to: s, condition: "record.payload.amount > 50.0"}
`)
	m := New(pl)
	r, err := engine.NewRunner(pl, engine.RunOptions{Observer: m, DeadLetterOut: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	m.Bind(r)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := values(t, reg)
	if sum.DeadLettered == 0 || v["conveyor_stage_dead_letters_total{kind=unmatched,stage=f}"] != float64(sum.DeadLettered) {
		t.Errorf("unmatched dead letters %v, summary %d", v["conveyor_stage_dead_letters_total{kind=unmatched,stage=f}"], sum.DeadLettered)
	}
	if got := m.StageDeadLetters()["f"]; got != sum.DeadLettered {
		t.Errorf("StageDeadLetters[f] = %d, want %d", got, sum.DeadLettered)
	}
	if v["conveyor_sink_records_written_total{sink=stderr}"] != float64(sum.DeadLetters.Written) || v["conveyor_sink_records_flushed_total{sink=stderr}"] != float64(sum.DeadLetters.Written) {
		t.Errorf("the default dead-letter sink: written %v flushed %v, want %d", v["conveyor_sink_records_written_total{sink=stderr}"], v["conveyor_sink_records_flushed_total{sink=stderr}"], sum.DeadLetters.Written)
	}
}

func TestMetrics_Lint(t *testing.T) {
	t.Parallel()
	pl := load(t, pipeline)
	m := New(pl)
	m.Bind(fakeSummary{engine.Summary{Watermark: time.Unix(100, 0), Sources: []engine.SourceProgress{{Source: "gen", Watermark: time.Unix(100, 0), State: "active"}},
		Stages: []engine.StageStats{{ID: "f", Type: "filter", QueueDepth: 3, Busy: 2, Parallelism: 8}}, DeadLetters: engine.SinkStats{Name: "dl"}}})
	problems, err := testutil.CollectAndLint(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	v := values(t, reg)
	for k, w := range map[string]float64{
		"conveyor_stage_queue_depth_batches{stage=f}":       3,
		"conveyor_stage_busy_batches{stage=f}":              2,
		"conveyor_watermark_seconds{}":                      100,
		"conveyor_source_watermark_seconds{source=gen}":     100,
		"conveyor_source_idle{source=gen}":                  0,
		"conveyor_sink_records_flushed_total{sink=dl}":      0,
		"conveyor_dead_letters_lost_total{sink=dl}":         0,
		"conveyor_source_watermark_lag_seconds{source=gen}": v["conveyor_source_watermark_lag_seconds{source=gen}"],
	} {
		if got, ok := v[k]; !ok || got != w {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
	if lag := v["conveyor_source_watermark_lag_seconds{source=gen}"]; lag < float64(time.Since(time.Unix(100, 0))/time.Second)-60 {
		t.Errorf("lag %v", lag)
	}
}

type fakeSummary struct{ s engine.Summary }

func (f fakeSummary) Summary() engine.Summary { return f.s }

func TestMetrics_ObserverDoesNotAllocate(t *testing.T) {
	m := New(load(t, pipeline))
	m.DeadLetters("f", "filter", 1) // the first dead letter of a kind makes its counter
	allocs := testing.AllocsPerRun(100, func() {
		m.StageBatch("f", 1024, 512, time.Millisecond)
		m.EdgeRecords("f", "fan", 512)
		m.DeadLetters("f", "filter", 3)
		m.SinkWrite("out", 512, time.Millisecond, nil)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}

func TestMetrics_UnknownNamesAreCounted(t *testing.T) {
	m := New(load(t, pipeline))
	m.StageBatch("elsewhere", 2, 1, time.Millisecond)
	m.EdgeRecords("a", "b", 3)
	m.SinkWrite("other", 4, time.Millisecond, nil)
	v := values(t, registry(m))
	if v["conveyor_stage_records_in_total{stage=elsewhere}"] != 2 || v["conveyor_edge_records_total{from=a,to=b}"] != 3 || v["conveyor_sink_records_written_total{sink=other}"] != 4 {
		t.Fatalf("%v", v)
	}
}

func registry(c prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return reg
}

func TestWriteDocs(t *testing.T) {
	var b bytes.Buffer
	WriteDocs(&b)
	path := filepath.Join("..", "..", "docs", "metrics.md")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("docs/metrics.md is stale: go test ./engine/metrics -run TestWriteDocs -update")
	}
	for _, d := range Descriptions() {
		if !strings.HasPrefix(d.Name, "conveyor_") || (d.Kind == Counter) != strings.HasSuffix(d.Name, "_total") {
			t.Errorf("%s: a %s", d.Name, d.Kind)
		}
	}
}

// BenchmarkObserver is the Observer's cost per batch (the engine calls it
// once per batch per stage, edge and sink write; never per record).
func BenchmarkObserver(b *testing.B) {
	m := New(load(b, pipeline))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.StageBatch("f", 1024, 512, time.Millisecond)
			m.EdgeRecords("f", "fan", 512)
			m.SinkWrite("out", 512, time.Millisecond, nil)
		}
	})
}
