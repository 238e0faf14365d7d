package httpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/conveyor-etl/conveyor-wasm/engine/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// examplePipeline is a generate source at 2000 records/s through a filter
// and a conditional fan-out to two file sinks, with a dead-letter file.
const examplePipeline = `id: live
settings: {dead_letter: dl, batch_size: 100}
sources:
  - {name: gen, type: generate, rate: 2000, count: %d}
services:
  out: {type: file, path: out.jsonl}
  clicks: {type: file, path: clicks.jsonl}
  dl: {type: file, path: dl.jsonl}
stages:
  - {id: active, type: filter, condition: "record.payload.active == true"}
  - {id: fan, type: fan_out, fan_out: {sinks: [{sink_name: all}, {sink_name: click, condition: "record.payload.type == 'click'"}]}}
  - {id: all, type: sink, service_name: out}
  - {id: click, type: sink, service_name: clicks}
edges:
  - {from: gen, to: active}
  - {from: active, to: fan}
`

func loadPlan(t testing.TB, text string) *engine.Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	pl, err := engine.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// startRun starts the server and a run of pl; wait returns its summary.
func startRun(t *testing.T, pl *engine.Plan, opts engine.RunOptions, pprof bool) (srv *Server, r *engine.Runner, wait func() engine.Summary) {
	t.Helper()
	m := metrics.New(pl)
	srv, err := Start(Config{Addr: "127.0.0.1:0", Plan: pl, Metrics: m, Pprof: pprof})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	opts.Observer = m
	r, err = engine.NewRunner(pl, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetRunner(r)
	type result struct {
		sum engine.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := r.Run(context.Background())
		srv.RunEnded()
		done <- result{sum, err}
	}()
	return srv, r, func() engine.Summary {
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res.sum
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// scrape parses /metrics with the Prometheus text parser into
// "name{l=v,...}" -> value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			k := name + "{" + strings.Join(ls, ",") + "}"
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

func TestServer_MetricsDuringAndAfterARun(t *testing.T) {
	t.Parallel()
	pl := loadPlan(t, fmt.Sprintf(examplePipeline, 3000))
	srv, r, wait := startRun(t, pl, engine.RunOptions{}, false)
	base := "http://" + srv.Addr()

	// During the run: records move, and the probes say so.
	for r.Summary().Delivered == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	during := scrape(t, base)
	if during["conveyor_records_in_total{}"] == 0 || during["conveyor_stage_records_in_total{stage=active}"] == 0 {
		t.Errorf("no progress during the run: in %v, active in %v", during["conveyor_records_in_total{}"], during["conveyor_stage_records_in_total{stage=active}"])
	}
	if _, ok := during["go_goroutines{}"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz during the run: %d %s", code, body)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ without Pprof: %d", code)
	}

	sum := wait()
	after := scrape(t, base)
	want := map[string]float64{
		"conveyor_records_in_total{}":                  float64(sum.In),
		"conveyor_records_total{outcome=delivered}":    float64(sum.Delivered),
		"conveyor_records_total{outcome=filtered}":     float64(sum.Filtered),
		"conveyor_records_in_flight{}":                 0,
		"conveyor_dead_letters_written_total{sink=dl}": float64(sum.DeadLetters.Written),
		"conveyor_stage_records_in_total{stage=gen}":   3000,
		"conveyor_stage_records_out_total{stage=gen}":  3000,
	}
	for _, st := range sum.Stages {
		if st.Type == "source" {
			continue
		}
		want[fmt.Sprintf("conveyor_stage_records_in_total{stage=%s}", st.ID)] = float64(st.In)
		want[fmt.Sprintf("conveyor_stage_records_out_total{stage=%s}", st.ID)] = float64(st.Out)
	}
	for _, e := range sum.Edges {
		want[fmt.Sprintf("conveyor_edge_records_total{from=%s,to=%s}", e.From, e.To)] = float64(e.Records)
	}
	for _, sk := range sum.Sinks {
		if sk.Name == "dl" {
			continue // written by the dead-letter sink, not by a stage
		}
		want[fmt.Sprintf("conveyor_sink_records_written_total{sink=%s}", sk.Name)] = float64(sk.Written)
		want[fmt.Sprintf("conveyor_sink_records_flushed_total{sink=%s}", sk.Name)] = float64(sk.Written)
		if sk.Written == 0 {
			t.Errorf("sink %s wrote nothing", sk.Name)
		}
	}
	for k, w := range want {
		if got, ok := after[k]; !ok || got != w {
			t.Errorf("%s = %v (present %v), want %v (the summary)", k, got, ok, w)
		}
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "ended") {
		t.Errorf("/readyz after the run: %d %s", code, body)
	}
}

func TestServer_ReadyzWhileDraining(t *testing.T) {
	t.Parallel()
	pl := loadPlan(t, `id: drain
sources: [{name: in, type: file, path: "-"}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: in, to: s}]
`)
	// A pipe the test keeps open: the source is slow to stop, since it
	// reads on until the pipe closes.
	pr, pw := io.Pipe()
	defer pw.Close()
	m := metrics.New(pl)
	srv, err := Start(Config{Addr: "127.0.0.1:0", Plan: pl, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	base := "http://" + srv.Addr()
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/readyz before the run: %d %s", code, body)
	}
	r, err := engine.NewRunner(pl, engine.RunOptions{Observer: m, Stdin: pr})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetRunner(r)
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background())
		srv.RunEnded()
		done <- err
	}()
	if _, err := io.WriteString(pw, "{\"n\":1}\n"); err != nil {
		t.Fatal(err)
	}
	for r.Summary().Delivered == 0 {
		time.Sleep(time.Millisecond)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while running: %d %s", code, body)
	}
	r.Drain()
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining: %d %s", code, body)
	}
	var st Stats
	_, body := get(t, base+"/api/stats")
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.State != "draining" || st.Run.In != 1 {
		t.Errorf("/api/stats while draining: %v %s", err, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while draining: %d", code)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServer_PageGraphAndPprof(t *testing.T) {
	t.Parallel()
	pl := loadPlan(t, fmt.Sprintf(examplePipeline, 10))
	srv, _, wait := startRun(t, pl, engine.RunOptions{}, true)
	wait()
	base := "http://" + srv.Addr()
	for _, tt := range []struct {
		path, contentType, want string
	}{
		{"/", "text/html", `<script src="app.js">`},
		{"/app.js", "javascript", "function layout(g)"},
		{"/style.css", "text/css", ".node rect"},
		{"/api/graph", "application/json", `{"id":"fan","kind":"stage","name":"fan","type":"fan_out"}`},
		{"/api/stats", "application/json", `"state":"ended"`},
		{"/debug/pprof/", "text/html", "goroutine"},
	} {
		res, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s: %d %s, want %s containing %q:\n%.300s", tt.path, res.StatusCode, res.Header.Get("Content-Type"), tt.contentType, tt.want, b)
		}
	}
	if code, _ := get(t, base+"/nope"); code != http.StatusNotFound {
		t.Errorf("/nope: %d", code)
	}
}

func TestStart_BadAddress(t *testing.T) {
	t.Parallel()
	if _, err := Start(Config{Addr: "127.0.0.1:-1"}); err == nil || !strings.HasPrefix(err.Error(), "--http: ") {
		t.Fatalf("err = %v", err)
	}
}
