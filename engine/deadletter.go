package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// dlItem is a record on its way to the dead-letter sink.
type dlItem struct {
	rec    *record.Record
	reason string
	stage  string
	kind   string // for metrics: see Observer.DeadLetters
}

// deadLetter owns the dead-letter sink. Every record the pipeline cannot
// handle ends here, wrapped in a JSON object that says why:
//
//	{"reason": "...", "stage": "...", "time": "...", "origin": "file:line", "record": {envelope}}
//
// Records are acknowledged (as dead-lettered) only once the sink has taken
// them.
type deadLetter struct {
	name string // the dead-letter service, or "stderr"
	ch   chan []dlItem
	sink connectors.Sink
	r    *Runner
	now  func() time.Time
}

func newDeadLetter(s connectors.Sink, r *Runner) *deadLetter {
	return &deadLetter{ch: make(chan []dlItem, 16), sink: s, r: r, now: time.Now}
}

func (d *deadLetter) send(_ context.Context, items []dlItem) { d.ch <- items }

func (d *deadLetter) close() { close(d.ch) }

func (d *deadLetter) run(ctx context.Context) {
	var out []*record.Record
	for items := range d.ch {
		out = out[:0]
		for _, it := range items {
			out = append(out, d.wrap(it))
		}
		start := time.Now()
		err := d.sink.Write(ctx, out)
		d.r.obs.SinkWrite(d.name, len(out), time.Since(start), err)
		if err != nil {
			d.r.fail(fmt.Errorf("dead-letter sink: %w (%d records could not be written)", err, len(out)))
		}
		for _, it := range items {
			end(it.rec, record.DeadLettered)
		}
		if len(d.ch) == 0 {
			// Nothing else waiting: let the reasons reach the file now.
			if err := d.sink.Flush(); err != nil {
				d.r.fail(fmt.Errorf("dead-letter sink: %w", err))
			}
		}
		d.r.log.Debug("dead-lettered", "records", len(items), "stage", items[0].stage, "reason", items[0].reason)
	}
	if err := d.sink.Flush(); err != nil {
		d.r.fail(fmt.Errorf("dead-letter sink: %w", err))
	}
}

func (d *deadLetter) wrap(it dlItem) *record.Record {
	b := make([]byte, 0, len(it.rec.Payload)+256)
	b = append(b, `{"reason":`...)
	b = connectors.AppendJSONString(b, it.reason)
	b = append(b, `,"stage":`...)
	b = connectors.AppendJSONString(b, it.stage)
	b = append(b, `,"time":"`...)
	b = d.now().UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","origin":`...)
	b = connectors.AppendJSONString(b, describe(it.rec))
	b = append(b, `,"record":`...)
	b = connectors.AppendEnvelope(b, it.rec)
	b = append(b, '}')
	out := record.New(it.rec.Key, b)
	out.EventTime = it.rec.EventTime
	out.Source = it.rec.Source
	out.Metadata = record.Metadata{
		{Key: "dead_letter.reason", Value: it.reason},
		{Key: "dead_letter.stage", Value: it.stage},
	}
	return out
}
