package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestDescribe_Cases(t *testing.T) {
	rec := func(key, source, origin string, seq int64, ack bool) *record.Record {
		r := record.New(key, nil)
		r.Source, r.Origin = source, origin
		if ack {
			r.Ack = &record.Ack{Seq: seq}
		}
		return r
	}
	for _, c := range []struct {
		name string
		r    *record.Record
		want string
	}{
		{"origin", rec("k", "in", "in.jsonl:12", 12, true), "in.jsonl:12"},
		{"sequence", rec("k", "gen", "", 7, true), "gen#7"},
		{"zero sequence falls back to the key", rec("u1", "gen", "", 0, true), `key "u1"`},
		{"no ack: key", rec("a\"b", "gen", "", 0, false), `key "a\"b"`},
		{"nothing but the source", rec("", "gen", "", 0, false), "from gen"},
		{"nothing at all", rec("", "", "", 0, false), "from "},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := describe(c.r); got != c.want {
				t.Fatalf("describe = %q, want %q", got, c.want)
			}
		})
	}
}

// TestWorker_Unmatched_AtStage: a stage's unmatched policy overrides the
// pipeline's for records no edge out of that stage accepts.
func TestWorker_Unmatched_AtStage(t *testing.T) {
	for _, c := range []struct {
		policy  string
		wantErr bool
	}{{"drop", false}, {"dead_letter", false}, {"error", true}} {
		t.Run(c.policy, func(t *testing.T) {
			sum, dl, err := runFile(t, t.TempDir(), `id: u
settings: {unmatched: error, batch_size: 10}
sources: [{name: g, type: generate, count: 60, seed: 5}]
services: {out: {type: discard}}
stages:
  - {id: tag, type: metadata, set: {t: record.payload.type}, unmatched: `+c.policy+`}
  - {id: s, type: sink, service_name: out}
edges:
  - {from: g, to: tag}
  - {from: tag, to: s, condition: 'record.metadata["t"] == "click"'}
`)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			// With error the run stops early: fewer records may be read,
			// but the books still balance.
			if !sum.Balanced() || sum.In != 60 && !c.wantErr || sum.In == 0 {
				t.Fatalf("summary %s", sum)
			}
			unmatched := sum.In - sum.Delivered
			switch c.policy {
			case "drop":
				if unmatched == 0 || sum.Dropped != unmatched || dl != "" {
					t.Fatalf("summary %s, dead letters %q", sum, dl)
				}
			case "dead_letter":
				reasons, _ := deadLetters(t, dl)
				if unmatched == 0 || sum.DeadLettered != unmatched || int64(len(reasons)) != unmatched {
					t.Fatalf("summary %s, %d dead letters", sum, len(reasons))
				}
				for _, r := range reasons {
					if r != `no route matched at "tag"` {
						t.Fatalf("reason %q", r)
					}
				}
			case "error":
				if !errors.Is(err, ErrUnmatched) || !strings.Contains(err.Error(), `stage "tag": no route matched for record g#`) {
					t.Fatalf("err = %v", err)
				}
				if sum.DeadLettered == 0 || !strings.Contains(dl, `no route matched at \"tag\" (unmatched: error)`) {
					t.Fatalf("the unmatched record should be dead-lettered too: %s %q", sum, dl)
				}
			}
		})
	}
}

// repCounter counts the records each replica of a stage processes.
type repCounter struct {
	inner processor
	n     []atomic.Int64
}

func (c *repCounter) process(ctx context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
	c.n[bc.rep].Add(int64(len(in)))
	return c.inner.process(ctx, bc, in, out)
}

// runReplicas runs a generate -> work (3 replicas, strategy) -> sink
// pipeline and returns the records each replica processed and the
// balancer's in-flight counts afterwards.
func runReplicas(t *testing.T, strategy string, count int) ([]int64, []int64, Summary) {
	t.Helper()
	dir := t.TempDir()
	p, err := Load(writeFile(t, dir, "p.yaml", `id: r
settings: {batch_size: 8, queue_depth: 1}
sources: [{name: g, type: generate, count: `+strconv.Itoa(count)+`}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - id: work
    type: metadata
    set: {seen: "'yes'"}
    replicas: 3
    load_balance: {strategy: `+strategy+`}
  - {id: s, type: sink, service_name: out}
edges: [{from: g, to: work}, {from: work, to: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := r.stages[p.byID["work"].idx]
	rc := &repCounter{inner: st.proc, n: make([]atomic.Int64, 3)}
	st.proc = rc
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if lines := readLines(t, filepath.Join(dir, "out.jsonl")); len(lines) != count || sum.Delivered != int64(count) || !sum.Balanced() {
		t.Fatalf("%d lines, summary %s", len(lines), sum)
	}
	var per, load []int64
	for i := range rc.n {
		per = append(per, rc.n[i].Load())
	}
	for i := range st.lb.load {
		load = append(load, st.lb.load[i].Load())
	}
	return per, load, sum
}

func TestWorker_Push_Replicas(t *testing.T) {
	for _, c := range []struct {
		strategy string
		exact    []int64 // nil: only the total and a share for each is checked
	}{
		{"round_robin", []int64{100, 100, 100}},
		{"least_loaded", nil},
		{"random", nil},
		{"hash", nil},
	} {
		t.Run(c.strategy, func(t *testing.T) {
			per, load, sum := runReplicas(t, c.strategy, 300)
			var total int64
			for i, n := range per {
				total += n
				if n == 0 {
					t.Fatalf("replica %d got nothing: %v", i, per)
				}
				if c.exact != nil && n != c.exact[i] {
					t.Fatalf("replicas got %v, want %v", per, c.exact)
				}
			}
			if total != 300 {
				t.Fatalf("replicas processed %d records in all: %v", total, per)
			}
			// Every record sent to a replica is taken off its load once
			// processed: nothing is left in flight.
			for i, l := range load {
				if l != 0 {
					t.Fatalf("replica %d still has %d in flight: %v", i, l, load)
				}
			}
			var work StageStats
			for _, s := range sum.Stages {
				if s.ID == "work" {
					work = s
				}
			}
			if work.In != 300 || work.Out != 300 {
				t.Fatalf("work stage stats %+v", work)
			}
		})
	}
}

// TestNewWorker_Single: a worker takes the per-record-free fast path only
// for one unconditional route into a one-queue stage.
func TestNewWorker_Single(t *testing.T) {
	for _, c := range []struct {
		name   string
		stages string
		edges  string
		single bool
		slots  int
	}{
		{"one unconditional route", "[{id: s, type: sink, service_name: out}]", "[{from: g, to: s}]", true, 1},
		{"conditional route", "[{id: s, type: sink, service_name: out}]", "[{from: g, to: s, condition: 'true'}]", false, 1},
		{"two routes", "[{id: s, type: sink, service_name: out}, {id: t, type: sink, service_name: out}]", "[{from: g, to: s}, {from: g, to: t}]", false, 2},
		{"replicated target", "[{id: s, type: sink, service_name: out, replicas: 3}]", "[{from: g, to: s}]", false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Load(writeFile(t, t.TempDir(), "p.yaml", `id: w
sources: [{name: g, type: generate, count: 1}]
services: {out: {type: discard}}
stages: `+c.stages+`
edges: `+c.edges+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRunner(p, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.closeAll(context.Background())
			w := newWorker(r, p.byID["g"], 0)
			if w.single != c.single || len(w.slots) != c.slots || len(w.pend) != c.slots {
				t.Fatalf("single %v, %d slots, %d pending", w.single, len(w.slots), len(w.pend))
			}
			if got := w.outWM(); got != wmMax {
				t.Fatalf("outWM of a source without event time = %d, want Max", got)
			}
			s := newWorker(r, p.byID["s"], 0)
			s.wm = 42
			if got := s.outWM(); got != 42 {
				t.Fatalf("outWM of a stage = %d, want its input watermark 42", got)
			}
		})
	}
}
