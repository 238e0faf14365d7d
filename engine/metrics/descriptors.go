package metrics

import (
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is a Prometheus metric type.
type Kind string

// Metric types.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
)

// Description describes one metric: the table docs/metrics.md is
// generated from, and the descriptors the collector registers.
type Description struct {
	Name   string
	Kind   Kind
	Labels []string
	Help   string
	// From says where the values come from: "batch" (counted by the
	// Observer as batches move), "summary" (read from Runner.Summary at
	// scrape time) or "plan" (constant).
	From string
}

type metricDesc struct {
	Description
	buckets []float64
	d       *prometheus.Desc
}

func (m *metricDesc) desc() *prometheus.Desc { return m.d }

func def(name string, k Kind, from string, help string, labels ...string) *metricDesc {
	m := &metricDesc{Description: Description{Name: name, Kind: k, Labels: labels, Help: help, From: from}}
	m.d = prometheus.NewDesc(name, help, labels, nil)
	descriptors = append(descriptors, m)
	return m
}

// Batch and write latencies: 10µs to about 2.6s, by factors of 4.
var latencyBuckets = prometheus.ExponentialBuckets(10e-6, 4, 10)

var descriptors []*metricDesc

// Per batch, from the Observer.
var (
	mStageIn = def("conveyor_stage_records_in_total", Counter, "batch",
		"Records a stage took in (for a source: records read).", "stage")
	mStageOut = def("conveyor_stage_records_out_total", Counter, "batch",
		"Records a stage passed on (for a source: records admitted past event time and lateness).", "stage")
	mStageBatches = def("conveyor_stage_batches_total", Counter, "batch",
		"Batches a stage processed.", "stage")
	mStageBatchDuration = withBuckets(def("conveyor_stage_batch_duration_seconds", Histogram, "batch",
		"Time a stage took per batch (for a source: to admit a batch it read).", "stage"), latencyBuckets)
	mStageDeadLetters = def("conveyor_stage_dead_letters_total", Counter, "batch",
		"Records dead-lettered at a stage or source, by kind of reason: the stage type, or source, condition, unmatched, late, event_time.", "stage", "kind")
	mEdgeRecords = def("conveyor_edge_records_total", Counter, "batch",
		"Records that crossed an edge (a record copied to two targets crosses two edges; late-record routes included).", "from", "to")
	mSinkWritten = def("conveyor_sink_records_written_total", Counter, "batch",
		"Records a sink service accepted in successful writes (the dead-letter sink included).", "sink")
	mSinkWriteDuration = withBuckets(def("conveyor_sink_write_duration_seconds", Histogram, "batch",
		"Time a sink service took per write, failed writes included.", "sink"), latencyBuckets)
)

// At scrape time, from Runner.Summary.
var (
	mStageInfo = def("conveyor_stage_info", Gauge, "plan",
		"Always 1: a stage's or source's type and service.", "stage", "type", "service")
	mRecordsIn = def("conveyor_records_in_total", Counter, "summary",
		"Records read by every source.")
	mRecordsOutcome = def("conveyor_records_total", Counter, "summary",
		"Source records by how they ended: delivered, filtered, dropped, dead_lettered or unprocessed. A record copied to several sinks counts once; in = the sum of outcomes + in flight.", "outcome")
	mRecordsInFlight = def("conveyor_records_in_flight", Gauge, "summary",
		"Source records read that have not ended yet.")
	mRecordsLate = def("conveyor_records_late_total", Counter, "summary",
		"Records found behind the watermark by more than the allowed lateness (also counted under their outcome).")
	mStageQueueDepth = def("conveyor_stage_queue_depth_batches", Gauge, "summary",
		"Batches waiting in a stage's queues.", "stage")
	mStageBusy = def("conveyor_stage_busy_batches", Gauge, "summary",
		"Batches a stage is processing now.", "stage")
	mStageParallelism = def("conveyor_stage_parallelism", Gauge, "summary",
		"Batches each of a stage's queues may process at once.", "stage")
	mWatermark = def("conveyor_watermark_seconds", Gauge, "summary",
		"The pipeline's combined watermark, in Unix seconds (absent before event-time progress).")
	mSourceWatermark = def("conveyor_source_watermark_seconds", Gauge, "summary",
		"An event-time source's watermark, in Unix seconds (absent before its first record).", "source")
	mSourceLag = def("conveyor_source_watermark_lag_seconds", Gauge, "summary",
		"How far an event-time source's watermark is behind the wall clock; 0 when it is ahead.", "source")
	mSourceIdle = def("conveyor_source_idle", Gauge, "summary",
		"1 while an event-time source is idle (silent for idle_timeout), else 0.", "source")
	mSinkFlushed = def("conveyor_sink_records_flushed_total", Counter, "summary",
		"Records a sink service flushed (durably written and acknowledged; the dead-letter sink included).", "sink")
	mSinkErrors = def("conveyor_sink_errors_total", Counter, "summary",
		"Failed writes and flushes of a sink service.", "sink")
	mDeadLettersWritten = def("conveyor_dead_letters_written_total", Counter, "summary",
		"Dead letters the dead-letter sink wrote.", "sink")
	mDeadLettersLost = def("conveyor_dead_letters_lost_total", Counter, "summary",
		"Dead letters the dead-letter sink could not write (the run fails).", "sink")
	mRunElapsed = def("conveyor_run_elapsed_seconds", Gauge, "summary",
		"Time since the run started.")
)

func withBuckets(m *metricDesc, b []float64) *metricDesc {
	m.buckets = b
	return m
}

func counterVec(m *metricDesc) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Name, Help: m.Help}, m.Labels)
}

func histogramVec(m *metricDesc) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: m.Name, Help: m.Help, Buckets: m.buckets}, m.Labels)
}

// Descriptions lists every metric Metrics exports, in documentation
// order.
func Descriptions() []Description {
	out := make([]Description, len(descriptors))
	for i, d := range descriptors {
		out[i] = d.Description
	}
	return out
}

// WriteDocs writes the Markdown reference of the metrics (docs/metrics.md).
func WriteDocs(w io.Writer) {
	fmt.Fprint(w, `# Metrics

Generated from the descriptors in engine/metrics (`+"`go test ./engine/metrics -run TestWriteDocs -update`"+`).

`+"`conveyor-wasm run --http ADDR`"+` serves them at `+"`/metrics`"+` in the Prometheus text
format, with the Go runtime's (`+"`go_*`"+`) and the process's (`+"`process_*`"+`). Metrics
from *batch* are counted by the engine's Observer as batches move; those
from *summary* are read from the run summary when the endpoint is scraped,
so at the end of a run they equal the summary the CLI prints; *plan* ones
are constant. Latency
histograms have buckets from 10µs to 2.6s by factors of 4.

| metric | type | labels | from | description |
|---|---|---|---|---|
`)
	for _, d := range descriptors {
		labels := strings.Join(d.Labels, ", ")
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", d.Name, d.Kind, labels, d.From, d.Help)
	}
}
