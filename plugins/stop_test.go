package plugins

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/fuel"
)

// A guest stuck in a loop stops when the caller's context is cancelled
// (SIGINT in conveyor-wasm run), also when the plugin has no time limit.
// Before fuel instrumentation such a guest could never be stopped: this
// test hung.
func TestProcess_CancelStopsLoopWithoutTimeLimit(t *testing.T) {
	for _, rt := range Runtimes() {
		t.Run(rt, func(t *testing.T) { testCancelStopsLoop(t, rt) })
	}
}

func testCancelStopsLoop(t *testing.T, rt string) {
	p, _ := loadGuest(t, "loop", Options{Runtime: rt, Instances: 1, Limits: Limits{BatchTimeout: -1}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := p.Process(ctx, recs("loop"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var be *BatchError
	if errors.As(err, &be) {
		t.Fatalf("cancellation reported as a batch failure: %v", err)
	}
	// The plugin still works on a fresh instance.
	if out, err := p.Process(context.Background(), recs("ok"), nil); err != nil || len(out) != 1 {
		t.Fatalf("after cancel: %v, %v", out, err)
	}
}

// With every P of the Go scheduler running guest code, time limits still
// fire and a stop-the-world GC still completes: guests call into the host
// at a bounded interval, where Go can preempt them.
func TestProcess_TimeLimitWhenEveryCPUIsInGuestCode(t *testing.T) {
	for _, rt := range Runtimes() {
		t.Run(rt, func(t *testing.T) { testEveryCPU(t, rt) })
	}
}

func testEveryCPU(t *testing.T, rt string) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const guests = 4 // more looping guests than Ps
	limit := 300 * time.Millisecond
	p, _ := loadGuest(t, "loop", Options{Runtime: rt, Instances: guests, Limits: Limits{BatchTimeout: limit}})
	// Create the instances first, so that the batches start at once.
	var wg sync.WaitGroup
	for range guests {
		wg.Add(1)
		go func() { defer wg.Done(); p.Process(context.Background(), recs("ok"), nil) }()
	}
	wg.Wait()

	type result struct {
		err     error
		elapsed time.Duration
	}
	errs := make(chan result, guests)
	for range guests {
		go func() {
			t0 := time.Now()
			_, err := p.Process(context.Background(), recs("loop"), nil)
			errs <- result{err, time.Since(t0)}
		}()
	}
	time.Sleep(limit / 3) // let the guests occupy every P
	gcDone := make(chan struct{})
	go func() { runtime.GC(); close(gcDone) }()
	for i := range guests {
		r := <-errs
		if i == 0 {
			select {
			case <-gcDone:
			default:
				t.Error("a GC started while guests looped did not finish before the first batch ended")
			}
		}
		var be *BatchError
		if !errors.As(r.err, &be) || be.Kind != FaultTimeout {
			t.Fatalf("err = %v, want a timeout", r.err)
		}
		// Two attempts (the retry on a fresh instance), each stopped within
		// 2x the limit; the extra second absorbs a busy CI machine. Before
		// fuel, a guest here was never stopped.
		if r.elapsed > 2*2*limit+time.Second {
			t.Errorf("a looping batch took %s with a %s limit (two attempts)", r.elapsed, limit)
		}
	}
}

// Every Go test guest (what the Go toolchain emits) is fuel-instrumented,
// not left to the slower fallback.
func TestFuel_InstrumentsGoGuests(t *testing.T) {
	for _, g := range []string{"noop", "loop", "hostcalls", "membomb"} {
		res, err := fuel.Instrument(guest(t, g), 1000, 50_000)
		if err != nil || res.Loops == 0 || !res.DepthBounded {
			t.Fatalf("%s: %+v, %v", g, res.Loops, err)
		}
	}
}
