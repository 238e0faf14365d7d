package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// failingSinkConfig configures the "test-failing" sink: Write fails with
// write_error (when set), Flush with flush_error (when set).
type failingSinkConfig struct {
	WriteError string `yaml:"write_error"`
	FlushError string `yaml:"flush_error"`
}

func init() {
	connectors.Register(connectors.Spec{
		Type: "test-failing", Kind: connectors.KindSink,
		Summary:   "A sink whose writes or flushes fail (engine tests).",
		NewConfig: func() any { return &failingSinkConfig{WriteError: "disk full"} },
		Build: func(cfg any, _ connectors.Env) (any, error) {
			c := cfg.(*failingSinkConfig)
			return &memSink{writeErr: errOrNil(c.WriteError), flushErr: errOrNil(c.FlushError)}, nil
		},
	})
}

func errOrNil(msg string) error {
	if msg == "" {
		return nil
	}
	return errors.New(msg)
}

// memSink keeps what it is given, or fails.
type memSink struct {
	mu       sync.Mutex
	recs     []*record.Record
	writeErr error
	flushErr error
}

func (s *memSink) Write(_ context.Context, b []*record.Record) error {
	if s.writeErr != nil {
		return s.writeErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b {
		c := *r
		c.Payload = append([]byte(nil), r.Payload...)
		s.recs = append(s.recs, &c)
	}
	return nil
}

func (s *memSink) Flush() error { return s.flushErr }
func (s *memSink) Close() error { return nil }

// countGroup counts final outcomes.
type countGroup struct {
	mu sync.Mutex
	n  map[record.Outcome]int
}

func (g *countGroup) Done(_ *record.Ack, o record.Outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == nil {
		g.n = map[record.Outcome]int{}
	}
	g.n[o]++
}

type dlEnvelope struct {
	Reason string
	Stage  string
	Time   string
	Origin string
	Record struct {
		Key       string
		Payload   json.RawMessage
		Metadata  map[string]string
		EventTime string `json:"event_time"`
		Source    string
	}
}

func TestDeadLetter_Wrap_Envelope(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("X", 3600))
	d := &deadLetter{now: func() time.Time { return now }}
	withAck := func(r *record.Record, seq int64) *record.Record {
		r.Ack = &record.Ack{Seq: seq}
		return r
	}
	for _, c := range []struct {
		name       string
		rec        *record.Record
		reason     string
		wantOrigin string
		wantPay    string
	}{
		{"origin wins", func() *record.Record {
			r := withAck(record.New("k", []byte(`{"a":1}`)), 9)
			r.Origin, r.Source = "in.jsonl:3", "in"
			return r
		}(), "malformed JSON", "in.jsonl:3", `{"a":1}`},
		{"source and sequence", func() *record.Record {
			r := withAck(record.New("k", []byte(`{"a":1}`)), 7)
			r.Source = "gen"
			return r
		}(), `filter "f": condition x: "boom"`, "gen#7", `{"a":1}`},
		{"key", func() *record.Record {
			r := record.New("u1", []byte("not json\nat all"))
			r.Source = "gen"
			return r
		}(), "no route matched at \"g\"", `key "u1"`, `"not json\nat all"`},
		{"source only", func() *record.Record {
			r := record.New("", []byte(`[1,2]`))
			r.Source = "gen"
			r.Metadata.Set("m", "v")
			r.EventTime = time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC).UnixNano()
			return r
		}(), "late", "from gen", `[1,2]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := d.wrap(dlItem{rec: c.rec, reason: c.reason, stage: "st"})
			var env dlEnvelope
			if err := json.Unmarshal(out.Payload, &env); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out.Payload)
			}
			if strings.Contains(string(out.Payload), "\n") {
				t.Fatalf("dead letter spans lines: %s", out.Payload)
			}
			if env.Reason != c.reason || env.Stage != "st" || env.Origin != c.wantOrigin || env.Time != "2026-03-04T04:06:07.00000089Z" {
				t.Fatalf("envelope %+v", env)
			}
			if env.Record.Key != c.rec.Key || string(env.Record.Payload) != c.wantPay || env.Record.Source != "gen" && env.Record.Source != "in" {
				t.Fatalf("record %+v", env.Record)
			}
			if c.rec.HasEventTime() != (env.Record.EventTime != "") {
				t.Fatalf("event time %q for %d", env.Record.EventTime, c.rec.EventTime)
			}
			for k, v := range c.rec.Metadata.Map() {
				if env.Record.Metadata[k] != v {
					t.Fatalf("metadata %v, want %s=%s", env.Record.Metadata, k, v)
				}
			}
			if out.Key != c.rec.Key || out.EventTime != c.rec.EventTime || out.Source != c.rec.Source {
				t.Fatalf("wrapped record key %q time %d source %q", out.Key, out.EventTime, out.Source)
			}
			want := map[string]string{"dead_letter.reason": c.reason, "dead_letter.stage": "st"}
			if got := out.Metadata.Map(); len(got) != 2 || got["dead_letter.reason"] != want["dead_letter.reason"] || got["dead_letter.stage"] != "st" {
				t.Fatalf("metadata %v, want %v", got, want)
			}
		})
	}
}

// TestDeadLetter_Run_Cases drives the dead-letter goroutine directly: the
// records are acknowledged as dead-lettered once the sink has flushed
// them; a failing write or flush fails the run, and the records the sink
// did not take end unprocessed (never counted as dead-lettered).
func TestDeadLetter_Run_Cases(t *testing.T) {
	for _, c := range []struct {
		name    string
		sink    *memSink
		wantErr string
	}{
		{"ok", &memSink{}, ""},
		{"write fails", &memSink{writeErr: errors.New("disk full")}, `dead-letter sink "dl": disk full (0 dead letters written, 2 could not be written)`},
		{"flush fails", &memSink{flushErr: errors.New("fsync")}, `dead-letter sink "dl": fsync (0 dead letters written, `},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Runner{log: slog.New(slog.DiscardHandler), obs: NopObserver{}}
			d := newDeadLetter(c.sink, r)
			d.name = "dl"
			var g countGroup
			mk := func(seq int64) *record.Record {
				rec := record.New("k", []byte(`{}`))
				rec.Source = "s"
				rec.Ack = &record.Ack{}
				rec.Ack.Init(&g, seq)
				return rec
			}
			done := make(chan struct{})
			go func() { d.run(context.Background()); close(done) }()
			d.send(context.Background(), []dlItem{{rec: mk(1), reason: "r1", stage: "a"}, {rec: mk(2), reason: "r2", stage: "a"}})
			d.send(context.Background(), []dlItem{{rec: mk(3), reason: "r3", stage: "b"}})
			d.close()
			<-done
			want := record.DeadLettered
			if c.wantErr != "" {
				want = record.Unprocessed
			}
			if g.n[want] != 3 || len(g.n) != 1 {
				t.Fatalf("outcomes %v, want 3 %s", g.n, want)
			}
			if c.wantErr != "" && (d.lost.Load() != 3 || d.written.Load() != 0) {
				t.Fatalf("dead letters lost %d, written %d", d.lost.Load(), d.written.Load())
			}
			var err error
			if e := r.fatal.Load(); e != nil {
				err = *e
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(c.sink.recs) != 3 {
					t.Fatalf("sink got %d records", len(c.sink.recs))
				}
				for i, rec := range c.sink.recs {
					var env dlEnvelope
					if err := json.Unmarshal(rec.Payload, &env); err != nil {
						t.Fatal(err)
					}
					if want := []string{"r1", "r2", "r3"}[i]; env.Reason != want || env.Origin != "s#"+string(rune('1'+i)) {
						t.Fatalf("record %d: %+v", i, env)
					}
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
		})
	}
}

const deadLetterPipeline = `id: dl
settings: {dead_letter: dead, batch_size: 4}
sources: [{name: in, type: file, path: in.jsonl}]
services:
  out: {type: file, path: out.jsonl}
  dead: %s
stages:
  - {id: f, type: filter, condition: record.payload.n > 1}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: f}, {from: f, to: s}]
`

func TestDeadLetter_Run_ServiceSink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"m\":3}\n{bad\n{\"n\":\"x\"}\n")
	sum, stderr, err := runFile(t, dir, strings.ReplaceAll(deadLetterPipeline, "%s", "{type: file, path: dead.jsonl, format: envelope}"))
	if err != nil {
		t.Fatal(err)
	}
	if stderr != "" {
		t.Fatalf("dead letters went to the default output too: %s", stderr)
	}
	if sum.In != 5 || sum.Delivered != 1 || sum.Filtered != 1 || sum.DeadLettered != 3 || !sum.Balanced() {
		t.Fatalf("summary %s", sum)
	}
	got := map[string]string{}
	for _, e := range readEnvelopes(t, filepath.Join(dir, "dead.jsonl")) {
		var inner dlEnvelope
		b, _ := json.Marshal(e.Payload)
		if err := json.Unmarshal(b, &inner); err != nil {
			t.Fatal(err)
		}
		if e.Metadata["dead_letter.reason"] != inner.Reason || e.Metadata["dead_letter.stage"] != inner.Stage {
			t.Fatalf("metadata %v does not match %+v", e.Metadata, inner)
		}
		got[inner.Stage+" "+inner.Origin] = inner.Reason
	}
	if len(got) != 3 || !strings.Contains(got["in "+filepath.Join(dir, "in.jsonl")+":4"], "malformed JSON") ||
		!strings.Contains(got["f in#3"], `filter "f": condition "record.payload.n > 1":`) ||
		!strings.Contains(got["f in#5"], `filter "f"`) {
		t.Fatalf("dead letters %v", got)
	}
}

func TestDeadLetter_Run_FailingSinkFailsRun(t *testing.T) {
	for _, c := range []struct {
		name, cfg, wantErr string
	}{
		{"write", "{type: test-failing}", `dead-letter sink "dead": disk full (0 dead letters written, `},
		{"flush", "{type: test-failing, write_error: '', flush_error: fsync failed}", `dead-letter sink "dead": fsync failed (0 dead letters written, `},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"m\":3}\n{bad\n")
			sum, _, err := runFile(t, dir, strings.ReplaceAll(deadLetterPipeline, "%s", c.cfg))
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			// The two records bound for the dead-letter sink were not
			// written: unprocessed, never dead-lettered. The first failed
			// dead-letter write fails the run at once, so the second one
			// may be caught in a queue by the stop (unprocessed, not sent
			// to the dead-letter sink): 1 or 2 are lost there. The failed
			// run may also stop before the delivered one is flushed.
			if sum.In != 4 || sum.DeadLettered != 0 || sum.Unprocessed < 2 || sum.DeadLetters.Lost < 1 || sum.DeadLetters.Lost > 2 ||
				sum.InFlight != 0 || !sum.Balanced() {
				t.Fatalf("summary %s", sum)
			}
		})
	}
}

func TestBoundReason_Cases(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"short", "short"},
		{strings.Repeat("a", maxReason), strings.Repeat("a", maxReason)},
		{strings.Repeat("a", maxReason+10), strings.Repeat("a", maxReason) + "... (10 more bytes)"},
		// A cut never splits a character.
		{strings.Repeat("a", maxReason-1) + "é" + "tail", strings.Repeat("a", maxReason-1) + "... (6 more bytes)"},
	} {
		got := boundReason(c.in)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("boundReason(%d bytes) = %q..., want %q...", len(c.in), got[max(0, len(got)-30):], c.want[max(0, len(c.want)-30):])
		}
	}
}
