package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
	// written counts dead letters flushed; lost those the sink failed to
	// take; errors the failed writes and flushes.
	written, lost, errors atomic.Int64
	ch                    chan []dlItem
	sink                  connectors.Sink
	r                     *Runner
	now                   func() time.Time
}

func newDeadLetter(s connectors.Sink, r *Runner) *deadLetter {
	return &deadLetter{ch: make(chan []dlItem, 16), sink: s, r: r, now: r.now}
}

// send queues items for the dead-letter sink. Once the run has given up
// on a stuck dead-letter sink (ctx done), they end unprocessed.
func (d *deadLetter) send(ctx context.Context, items []dlItem) {
	d.r.inflight.Add(1)
	select {
	case d.ch <- items:
	case <-ctx.Done():
		d.r.inflight.Add(-1)
		for _, it := range items {
			end(it.rec, record.Unprocessed)
		}
	}
}

func (d *deadLetter) close() { close(d.ch) }

// run writes dead letters until the queue closes. A dead letter is
// acknowledged (as dead-lettered) only once the sink has flushed it. If
// the dead-letter sink fails, the records it did not take end unprocessed
// (not acknowledged), the run fails with exact counts, and later dead
// letters are not attempted: there is nowhere left to put them.
func (d *deadLetter) run(ctx context.Context) {
	var out []*record.Record
	var pending []dlItem
	failed := false
	lose := func(items []dlItem) {
		for _, it := range items {
			end(it.rec, record.Unprocessed)
		}
		d.lost.Add(int64(len(items)))
	}
	failWith := func(err error) {
		d.errors.Add(1)
		lose(pending)
		pending = pending[:0]
		failed = true
		d.r.fail(fmt.Errorf("dead-letter sink %q: %w (%d dead letters written, %d could not be written)",
			d.name, err, d.written.Load(), d.lost.Load()))
	}
	flush := func() {
		if len(pending) == 0 || failed {
			return
		}
		if err := d.sink.Flush(); err != nil {
			failWith(err)
			return
		}
		for _, it := range pending {
			end(it.rec, record.DeadLettered)
		}
		d.written.Add(int64(len(pending)))
		pending = pending[:0]
	}
	for items := range d.ch {
		func() {
			defer d.r.inflight.Add(-1) // written (and flushed, if nothing else waits)
			if failed {
				lose(items)
				d.r.fail(fmt.Errorf("dead-letter sink %q failed (%d dead letters written, %d could not be written)", d.name, d.written.Load(), d.lost.Load()))
				return
			}
			out = out[:0]
			for _, it := range items {
				out = append(out, d.wrap(it))
			}
			start := time.Now()
			err := d.sink.Write(ctx, out)
			d.r.obs.SinkWrite(d.name, len(out), time.Since(start), err)
			pending = append(pending, items...)
			if err != nil {
				failWith(err)
				return
			}
			if len(d.ch) == 0 || len(pending) >= 4096 {
				// Nothing else waiting: let the reasons reach the file now.
				flush()
			}
			d.r.log.Debug("dead-lettered", "records", len(items), "stage", items[0].stage, "reason", items[0].reason)
		}()
	}
	flush()
}

// maxReason bounds a dead-letter reason: an error that quotes its input
// (a parser's message about a 100k-deep document) must not make the dead
// letter bigger than the record.
const maxReason = 1024

// boundReason cuts reason to at most maxReason bytes, at a character
// boundary, and says how much was cut.
func boundReason(reason string) string {
	if len(reason) <= maxReason {
		return reason
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", reason[:cut], len(reason)-cut)
}

func (d *deadLetter) wrap(it dlItem) *record.Record {
	it.reason = boundReason(it.reason)
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
