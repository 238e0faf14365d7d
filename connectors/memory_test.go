package connectors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// sliceEmitter collects what a source emits, batch by batch.
type sliceEmitter struct {
	mu      sync.Mutex
	batches [][]*record.Record
	err     error // returned by Emit
}

func (e *sliceEmitter) Emit(_ context.Context, b []*record.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batches = append(e.batches, b)
	return e.err
}

func (e *sliceEmitter) Reject(context.Context, []byte, string, error) error { return nil }

func (e *sliceEmitter) payloads() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, b := range e.batches {
		for _, r := range b {
			out = append(out, string(r.Payload))
		}
	}
	return out
}

func TestSliceSource_Read_CopiesInBatches(t *testing.T) {
	t.Parallel()
	recs := make([]*record.Record, memoryBatch+3)
	for i := range recs {
		recs[i] = record.New(fmt.Sprint("k", i), []byte(fmt.Sprint(i)))
	}
	recs[0].Metadata.Set("a", "b")
	recs[0].EventTime = 42
	src := NewSliceSource(recs...)
	for run := range 2 { // a slice source can be read again
		em := &sliceEmitter{}
		if err := src.Read(context.Background(), em); err != nil {
			t.Fatal(err)
		}
		if len(em.batches) != 2 || len(em.batches[0]) != memoryBatch || len(em.batches[1]) != 3 {
			t.Fatalf("run %d: batches of %d and %d", run, len(em.batches[0]), len(em.batches[1]))
		}
		got := em.batches[0][0]
		if got == recs[0] || got.Key != "k0" || string(got.Payload) != "0" || got.EventTime != 42 || meta(got, "a") != "b" {
			t.Fatalf("run %d: first record %+v", run, got)
		}
		got.Metadata.Set("a", "changed") // the pipeline owns its copy
		if v, _ := recs[0].Metadata.Get("a"); v != "b" {
			t.Fatal("the source's record changed with the emitted copy")
		}
	}
}

func TestSliceSource_Read_StopsOnEmitError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stopped")
	em := &sliceEmitter{err: stop}
	src := NewPayloadSource(slices.Repeat([]string{"x"}, memoryBatch*2)...)
	if err := src.Read(context.Background(), em); !errors.Is(err, stop) || len(em.batches) != 1 {
		t.Fatalf("err %v after %d batches", err, len(em.batches))
	}
}

func TestChanSource_Read_UntilClosed(t *testing.T) {
	t.Parallel()
	ch := make(chan *record.Record)
	em := &sliceEmitter{}
	done := make(chan error)
	go func() { done <- NewChanSource(ch).Read(context.Background(), em) }()
	for i := range 5 {
		ch <- record.New("", []byte(fmt.Sprint(i)))
	}
	close(ch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(em.payloads()); got != "[0 1 2 3 4]" {
		t.Fatalf("emitted %s", got)
	}
}

func TestChanSource_Read_StopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- NewChanSource(make(chan *record.Record)).Read(ctx, &sliceEmitter{}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after cancel")
	}
}

// A StepSource's steps run in order, each done when Do returns; errors come
// back to the caller; End ends Read.
func TestStepSource_Do(t *testing.T) {
	t.Parallel()
	s := NewStepSource()
	em := &sliceEmitter{}
	done := make(chan error)
	go func() { done <- s.Read(context.Background(), em) }()
	ctx := context.Background()
	for i := range 3 {
		if err := s.Emit(ctx, record.New("", []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
		if got := len(em.payloads()); got != i+1 {
			t.Fatalf("after step %d: %d records emitted", i, got)
		}
	}
	boom := errors.New("boom")
	if err := s.Do(ctx, func(context.Context, Emitter) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Do = %v, want the step's error", err)
	}
	s.End()
	s.End()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(em.payloads()); got != "[0 1 2]" {
		t.Fatalf("emitted %s", got)
	}
	// Once the source is not read any more, Do gives up with its context.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := NewStepSource().Do(short, func(context.Context, Emitter) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do on a source nobody reads = %v", err)
	}
}

func TestCollectSink_Records_OnlyFlushed(t *testing.T) {
	t.Parallel()
	s := NewCollectSink()
	in := record.New("k", []byte(`{"n":1}`))
	in.Metadata.Set("m", "v")
	if err := s.Write(context.Background(), []*record.Record{in}); err != nil {
		t.Fatal(err)
	}
	in.Payload[2] = 'X' // the engine may reuse its buffers after Write
	if len(s.Records()) != 0 {
		t.Fatal("a record counted before Flush")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	got := s.Records()
	if len(got) != 1 || string(got[0].Payload) != `{"n":1}` || got[0].Key != "k" || meta(got[0], "m") != "v" {
		t.Fatalf("records %+v", got)
	}
	if p := s.Payloads(); len(p) != 1 || p[0] != `{"n":1}` {
		t.Fatalf("payloads %q", p)
	}
	s.Reset()
	if len(s.Records()) != 0 {
		t.Fatal("Reset kept records")
	}
}

func meta(r *record.Record, k string) string {
	v, _ := r.Metadata.Get(k)
	return v
}
