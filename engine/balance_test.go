package engine

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestBalancer_Pick(t *testing.T) {
	rr, _ := newBalancer(RoundRobin, "")
	for i := 0; i < 9; i++ {
		if got := rr.pick(nil, 3); got != i%3 {
			t.Fatalf("round_robin pick %d = %d", i, got)
		}
	}
	h, _ := newBalancer(Hash, "")
	hf, _ := newBalancer(Hash, "user.id")
	for i := 0; i < 50; i++ {
		r := record.New(string(rune('a'+i%26)), []byte(`{"user":{"id":"x`+string(rune('a'+i%7))+`"}}`))
		if h.pick(r, 5) != h.pick(r.Clone(), 5) || hf.pick(r, 5) != hf.pick(record.New("other", r.Payload), 5) {
			t.Fatal("hash must depend only on the key (or field)")
		}
	}
	if fnv1a("hello") != 0xa430d84680aabd0b {
		t.Fatalf("fnv1a changed: %x (hash placement must be stable across versions)", fnv1a("hello"))
	}
	rnd, _ := newBalancer(Random, "")
	counts := make([]int, 4)
	for i := 0; i < 4000; i++ {
		counts[rnd.pick(nil, 4)]++
	}
	for i, c := range counts {
		if c < 700 {
			t.Fatalf("random choice %d picked %d/4000 times", i, c)
		}
	}
	ll, _ := newBalancer(LeastLoaded, "")
	ll.setChoices(3)
	ll.add(0, 10)
	ll.add(1, 2)
	ll.add(2, 5)
	if got := ll.pick(nil, 3); got != 1 {
		t.Fatalf("least_loaded picked %d, want 1", got)
	}
	ll.add(1, 10)
	if got := ll.pick(nil, 3); got != 2 {
		t.Fatalf("least_loaded picked %d, want 2", got)
	}
}

func TestNewBalancer_Errors(t *testing.T) {
	if _, err := newBalancer("fastest", ""); err == nil {
		t.Fatal("unknown strategy must fail")
	}
	if _, err := newBalancer(RoundRobin, "user_id"); err == nil {
		t.Fatal("hash_key without hash must fail")
	}
}
