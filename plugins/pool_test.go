package plugins

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPool_Acquire_LIFOAndBound(t *testing.T) {
	p := newPool(2)
	a, b := &instance{}, &instance{}
	p.put(a)
	p.put(b)
	ctx := context.Background()
	got1, _ := p.acquire(ctx)
	got2, _ := p.acquire(ctx)
	if got1 != b || got2 != a {
		t.Fatal("idle instances not reused most recent first")
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := p.acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third acquire on a pool of 2: %v, want deadline exceeded", err)
	}
	p.release(got1)
	got3, err := p.acquire(ctx)
	if err != nil || got3 != b {
		t.Fatalf("after release: %v, %p", err, got3)
	}
	p.release(nil) // a discarded instance frees its slot
	got4, err := p.acquire(ctx)
	if err != nil || got4 != nil {
		t.Fatalf("free slot: %v, %p, want nil instance", err, got4)
	}
}

func TestPool_Drain_WaitsAndRefuses(t *testing.T) {
	p := newPool(2)
	p.put(&instance{})
	inst, _ := p.acquire(context.Background())
	released := make(chan struct{})
	go func() {
		time.Sleep(30 * time.Millisecond)
		close(released)
		p.release(inst)
	}()
	idle, err := p.drain(context.Background())
	select {
	case <-released:
	default:
		t.Fatal("drain returned before the running batch released its instance")
	}
	if err != nil || len(idle) != 1 || idle[0] != inst {
		t.Fatalf("drain = %v, %v", idle, err)
	}
	if _, err := p.acquire(context.Background()); !errors.Is(err, errClosed) {
		t.Fatalf("acquire after drain: %v", err)
	}
}

func TestPool_Drain_ContextEnds(t *testing.T) {
	p := newPool(1)
	if _, err := p.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("drain with a stuck batch: %v", err)
	}
}
