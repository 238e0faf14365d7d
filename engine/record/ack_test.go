package record

import (
	"sync"
	"testing"
)

type countGroup struct {
	mu   sync.Mutex
	got  map[Outcome]int
	seqs []int64
}

func (g *countGroup) Done(a *Ack, o Outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.got == nil {
		g.got = map[Outcome]int{}
	}
	g.got[o]++
	g.seqs = append(g.seqs, a.Seq)
}

func TestAck_End_FinalOutcomePrecedence(t *testing.T) {
	cases := []struct {
		name string
		ends []Outcome
		want Outcome
	}{
		{"single delivered", []Outcome{Delivered}, Delivered},
		{"filtered", []Outcome{Filtered}, Filtered},
		{"delivered beats dropped", []Outcome{Dropped, Delivered}, Delivered},
		{"dead letter beats delivered", []Outcome{Delivered, DeadLettered, Delivered}, DeadLettered},
		{"filtered beats dropped", []Outcome{Dropped, Filtered}, Filtered},
		{"unprocessed beats everything", []Outcome{Delivered, Unprocessed, DeadLettered}, Unprocessed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &countGroup{}
			var a Ack
			a.Init(g, 7)
			a.Fork(len(c.ends) - 1)
			for i, o := range c.ends {
				if len(g.got) != 0 {
					t.Fatalf("group told before last path ended (after %d)", i)
				}
				a.End(o)
			}
			if g.got[c.want] != 1 || len(g.got) != 1 || g.seqs[0] != 7 {
				t.Fatalf("got %v, want one %v", g.got, c.want)
			}
		})
	}
}

func TestAck_End_Concurrent(t *testing.T) {
	g := &countGroup{}
	var a Ack
	a.Init(g, 1)
	const n = 64
	a.Fork(n - 1)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); a.End(Delivered) }()
	}
	wg.Wait()
	if g.got[Delivered] != 1 || a.Pending() != 0 {
		t.Fatalf("got %v pending %d", g.got, a.Pending())
	}
}

func TestAck_Nil_IsNoop(t *testing.T) {
	var a *Ack
	a.Fork(2)
	a.End(Delivered) // must not panic
}
