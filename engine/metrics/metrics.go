// Package metrics exposes a run in the Prometheus format: an
// engine.Observer counts what the stages, edges and sinks do per batch,
// and gauges (queue depths, busy workers, watermarks, outcome totals) are
// read from Runner.Summary whenever the registry is scraped.
//
//	m := metrics.New(plan)
//	r, _ := engine.NewRunner(plan, engine.RunOptions{Observer: m})
//	m.Bind(r)
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(m)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Every metric is listed, with its labels and where it comes from, by
// Descriptions and in docs/metrics.md (WriteDocs). The engine itself
// imports no metrics library: this package is the only one that knows
// Prometheus.
package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine"
	"github.com/prometheus/client_golang/prometheus"
)

// SummarySource is what the scrape-time gauges are read from: a
// *engine.Runner.
type SummarySource interface {
	Summary() engine.Summary
}

// Metrics is an engine.Observer and a prometheus.Collector for one plan.
// The label children of every stage, edge and sink of the plan are
// resolved once, in New: an observer call costs a map lookup and a few
// atomic adds, and allocates nothing.
type Metrics struct {
	vec     vecs
	stages  map[string]*stageMetrics // read-only after New
	edges   map[edgeKey]prometheus.Counter
	sinks   map[string]*sinkMetrics
	info    []prometheus.Metric
	mu      sync.Mutex // guards the late* maps: names the plan did not list
	lateSt  map[string]*stageMetrics
	lateEd  map[edgeKey]prometheus.Counter
	lateSk  map[string]*sinkMetrics
	summary atomic.Pointer[SummarySource]
}

type edgeKey struct{ from, to string }

type stageMetrics struct {
	in, out, batches prometheus.Counter
	took             prometheus.Observer
	dlVec            *prometheus.CounterVec
	id               string
	dlMu             sync.Mutex
	dl               map[string]prometheus.Counter // by kind
	dlTotal          atomic.Int64
}

type sinkMetrics struct {
	written prometheus.Counter
	took    prometheus.Observer
}

type vecs struct {
	stageIn, stageOut, stageBatches, stageDL, edge, sinkWritten *prometheus.CounterVec
	stageTook, sinkTook                                         *prometheus.HistogramVec
}

var (
	_ engine.Observer      = (*Metrics)(nil)
	_ prometheus.Collector = (*Metrics)(nil)
)

// New returns the metrics of runs of pl. Bind it to the run's Runner for
// the gauges.
func New(pl *engine.Plan) *Metrics {
	m := &Metrics{
		vec: vecs{
			stageIn:      counterVec(mStageIn),
			stageOut:     counterVec(mStageOut),
			stageBatches: counterVec(mStageBatches),
			stageDL:      counterVec(mStageDeadLetters),
			edge:         counterVec(mEdgeRecords),
			sinkWritten:  counterVec(mSinkWritten),
			stageTook:    histogramVec(mStageBatchDuration),
			sinkTook:     histogramVec(mSinkWriteDuration),
		},
		stages: map[string]*stageMetrics{},
		edges:  map[edgeKey]prometheus.Counter{},
		sinks:  map[string]*sinkMetrics{},
		lateSt: map[string]*stageMetrics{},
		lateEd: map[edgeKey]prometheus.Counter{},
		lateSk: map[string]*sinkMetrics{},
	}
	g := pl.Graph()
	for _, n := range g.Nodes {
		switch n.Kind {
		case engine.GraphNodeSource, engine.GraphNodeStage:
			m.stages[n.ID] = m.newStage(n.ID)
			m.info = append(m.info, prometheus.MustNewConstMetric(mStageInfo.desc(), prometheus.GaugeValue, 1, n.ID, n.Type, n.Service))
		case engine.GraphNodeService:
			if n.Role == "sink" {
				m.sinks[n.Name] = m.newSink(n.Name)
			}
		case engine.GraphNodeDeadLetter:
			m.sinks[n.Name] = m.newSink(n.Name)
		}
	}
	for _, e := range g.Edges {
		if e.Kind == engine.GraphEdgeRoute || e.Kind == engine.GraphEdgeLate {
			k := edgeKey{e.From, e.To}
			m.edges[k] = m.vec.edge.WithLabelValues(e.From, e.To)
		}
	}
	return m
}

// Bind makes the scrape-time gauges read src (the run's Runner). Until it
// is called they are left out.
func (m *Metrics) Bind(src SummarySource) { m.summary.Store(&src) }

func (m *Metrics) newStage(id string) *stageMetrics {
	return &stageMetrics{
		id:      id,
		in:      m.vec.stageIn.WithLabelValues(id),
		out:     m.vec.stageOut.WithLabelValues(id),
		batches: m.vec.stageBatches.WithLabelValues(id),
		took:    m.vec.stageTook.WithLabelValues(id),
		dlVec:   m.vec.stageDL,
		dl:      map[string]prometheus.Counter{},
	}
}

func (m *Metrics) newSink(name string) *sinkMetrics {
	return &sinkMetrics{written: m.vec.sinkWritten.WithLabelValues(name), took: m.vec.sinkTook.WithLabelValues(name)}
}

// stage returns a stage's metrics; a name the plan did not list (none
// should come) gets them on first use.
func (m *Metrics) stage(id string) *stageMetrics {
	if s, ok := m.stages[id]; ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.lateSt[id]
	if !ok {
		s = m.newStage(id)
		m.lateSt[id] = s
	}
	return s
}

func (m *Metrics) sink(name string) *sinkMetrics {
	if s, ok := m.sinks[name]; ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.lateSk[name]
	if !ok {
		s = m.newSink(name)
		m.lateSk[name] = s
	}
	return s
}

// StageBatch implements engine.Observer.
func (m *Metrics) StageBatch(stage string, in, out int, took time.Duration) {
	s := m.stage(stage)
	s.in.Add(float64(in))
	s.out.Add(float64(out))
	s.batches.Inc()
	s.took.Observe(took.Seconds())
}

// EdgeRecords implements engine.Observer.
func (m *Metrics) EdgeRecords(from, to string, n int) {
	k := edgeKey{from, to}
	c, ok := m.edges[k]
	if !ok {
		m.mu.Lock()
		if c, ok = m.lateEd[k]; !ok {
			c = m.vec.edge.WithLabelValues(from, to)
			m.lateEd[k] = c
		}
		m.mu.Unlock()
	}
	c.Add(float64(n))
}

// DeadLetters implements engine.Observer.
func (m *Metrics) DeadLetters(stage, kind string, n int) {
	s := m.stage(stage)
	s.dlTotal.Add(int64(n))
	s.dlMu.Lock()
	c, ok := s.dl[kind]
	if !ok {
		c = s.dlVec.WithLabelValues(s.id, kind)
		s.dl[kind] = c
	}
	s.dlMu.Unlock()
	c.Add(float64(n))
}

// SinkWrite implements engine.Observer. Failed writes are counted from the
// run summary (conveyor_sink_errors_total), with failed flushes.
func (m *Metrics) SinkWrite(sink string, n int, took time.Duration, err error) {
	s := m.sink(sink)
	s.took.Observe(took.Seconds())
	if err == nil {
		s.written.Add(float64(n))
	}
}

// StageDeadLetters returns how many records each stage (or source) has
// dead-lettered so far, by stage id: the live page's per-node errors.
func (m *Metrics) StageDeadLetters() map[string]int64 {
	out := make(map[string]int64, len(m.stages))
	for id, s := range m.stages {
		out[id] = s.dlTotal.Load()
	}
	m.mu.Lock()
	for id, s := range m.lateSt {
		out[id] = s.dlTotal.Load()
	}
	m.mu.Unlock()
	return out
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descriptors {
		ch <- d.desc()
	}
}

// Collect implements prometheus.Collector: the observer's counters and
// histograms, and gauges read from the bound run's summary.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.vec.stageIn.Collect(ch)
	m.vec.stageOut.Collect(ch)
	m.vec.stageBatches.Collect(ch)
	m.vec.stageDL.Collect(ch)
	m.vec.stageTook.Collect(ch)
	m.vec.edge.Collect(ch)
	m.vec.sinkWritten.Collect(ch)
	m.vec.sinkTook.Collect(ch)
	for _, i := range m.info {
		ch <- i
	}
	if src := m.summary.Load(); src != nil {
		collectSummary(ch, (*src).Summary(), time.Now())
	}
}

// collectSummary sends the gauges and totals of one run summary.
func collectSummary(ch chan<- prometheus.Metric, s engine.Summary, now time.Time) {
	counter := func(d *metricDesc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d.desc(), prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *metricDesc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d.desc(), prometheus.GaugeValue, v, labels...)
	}
	counter(mRecordsIn, float64(s.In))
	for _, o := range []struct {
		name string
		n    int64
	}{
		{"delivered", s.Delivered}, {"filtered", s.Filtered}, {"dropped", s.Dropped},
		{"dead_lettered", s.DeadLettered}, {"unprocessed", s.Unprocessed},
	} {
		counter(mRecordsOutcome, float64(o.n), o.name)
	}
	gauge(mRecordsInFlight, float64(s.InFlight))
	counter(mRecordsLate, float64(s.Late))
	for _, st := range s.Stages {
		if st.Type == "source" {
			continue // sources have no queue
		}
		gauge(mStageQueueDepth, float64(st.QueueDepth), st.ID)
		gauge(mStageBusy, float64(st.Busy), st.ID)
		gauge(mStageParallelism, float64(st.Parallelism), st.ID)
	}
	if !s.Watermark.IsZero() {
		gauge(mWatermark, unixSeconds(s.Watermark))
	}
	for _, src := range s.Sources {
		gauge(mSourceIdle, b2f(src.State == "idle"), src.Source)
		if src.Watermark.IsZero() {
			continue
		}
		gauge(mSourceWatermark, unixSeconds(src.Watermark), src.Source)
		// A source whose event times run ahead of the wall clock (a
		// generator, clock skew) is not behind: its lag is 0.
		gauge(mSourceLag, max(now.Sub(src.Watermark), 0).Seconds(), src.Source)
	}
	// The dead-letter sink is a sink too: its counts join those of a
	// service of the same name.
	sinks := make([]engine.SinkStats, 0, len(s.Sinks)+1)
	dl, dlSeen := s.DeadLetters, s.DeadLetters.Name == ""
	for _, sk := range s.Sinks {
		if sk.Name == dl.Name {
			sk.Written += dl.Written
			sk.Errors += dl.Errors
			dlSeen = true
		}
		sinks = append(sinks, sk)
	}
	if !dlSeen {
		sinks = append(sinks, dl)
	}
	for _, sk := range sinks {
		counter(mSinkFlushed, float64(sk.Written), sk.Name)
		counter(mSinkErrors, float64(sk.Errors), sk.Name)
	}
	if dl.Name != "" {
		counter(mDeadLettersWritten, float64(dl.Written), dl.Name)
		counter(mDeadLettersLost, float64(dl.Lost), dl.Name)
	}
	gauge(mRunElapsed, s.Elapsed.Seconds())
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
