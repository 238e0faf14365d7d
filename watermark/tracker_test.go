package watermark

import (
	"math/rand"
	"testing"
	"time"
)

func newTestTracker(lateness, idle time.Duration, opts ...Option) (*Tracker, *ManualClock) {
	clk := NewManualClock(time.Unix(1000, 0))
	return NewTracker(lateness, idle, append([]Option{WithClock(clk)}, opts...)...), clk
}

func TestTracker_Combined_MinOverActive(t *testing.T) {
	type upd struct {
		src string
		wm  Watermark
	}
	tests := []struct {
		name    string
		updates []upd
		want    Watermark
	}{
		{"no sources", nil, Min},
		{"one source", []upd{{"a", 10}}, 10},
		{"second source holds at min", []upd{{"a", 10}, {"b", Min}}, Min},
		{"min of two", []upd{{"a", 10}, {"b", 4}}, 4},
		{"slow source catches up", []upd{{"a", 10}, {"b", 4}, {"b", 12}}, 10},
		{"seed timeline", []upd{{"s1", 1}, {"s2", 1}, {"s1", 2}, {"s2", 2}, {"s1", 3}, {"s2", 3}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTestTracker(0, 0)
			for _, u := range tt.updates { // register every source first
				tr.Source(u.src)
			}
			for _, u := range tt.updates {
				tr.Update(u.src, u.wm)
			}
			if got := tr.Combined(); got != tt.want {
				t.Errorf("Combined() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestTracker_Update_RegressionIgnoredAndCounted(t *testing.T) {
	tr, _ := newTestTracker(0, 0)
	a := tr.Source("a")
	if !tr.UpdateID(a, 100) {
		t.Fatal("first update not applied")
	}
	if tr.UpdateID(a, 50) {
		t.Error("regression applied")
	}
	if !tr.UpdateID(a, 100) {
		t.Error("equal update reported as not applied")
	}
	if got := tr.Watermark(a); got != 100 {
		t.Errorf("Watermark = %#v, want 100", got)
	}
	if got := tr.Combined(); got != 100 {
		t.Errorf("Combined = %#v, want 100", got)
	}
	if got := tr.Regressions(); got != 1 {
		t.Errorf("Regressions = %d, want 1", got)
	}
	if got := tr.Status(a).Regressions; got != 1 {
		t.Errorf("Status.Regressions = %d, want 1", got)
	}
}

func TestTracker_Tick_IdleSourceStopsHolding(t *testing.T) {
	tr, clk := newTestTracker(0, 10*time.Second)
	a, b := tr.Source("a"), tr.Source("b")
	tr.UpdateID(a, 100)
	tr.UpdateID(b, 50)
	tr.Tick()
	for i := 0; i < 9; i++ {
		clk.Advance(time.Second)
		tr.UpdateID(a, Watermark(100+i))
		if got := tr.Tick(); got != 50 {
			t.Fatalf("after %ds Combined = %#v, want 50 (b not yet idle)", i+1, got)
		}
	}
	clk.Advance(time.Second) // 10s since b's last update was stamped
	tr.UpdateID(a, 200)
	if got := tr.Tick(); got != 200 {
		t.Fatalf("Combined = %#v after idle timeout, want 200", got)
	}
	if tr.State(b) != Idle {
		t.Errorf("State(b) = %v, want idle", tr.State(b))
	}
	// b rejoins behind the combined watermark: no step back.
	tr.UpdateID(b, 60)
	if tr.State(b) != Active {
		t.Errorf("State(b) = %v after update, want active", tr.State(b))
	}
	if got := tr.Combined(); got != 200 {
		t.Errorf("Combined = %#v after rejoin, want 200", got)
	}
	if !tr.IsLate(150) {
		t.Error("item of the rejoined source behind Combined is not late")
	}
	tr.UpdateID(a, 300)
	if got := tr.Combined(); got != 200 {
		t.Errorf("Combined = %#v while b catches up, want 200", got)
	}
	tr.UpdateID(b, 250)
	if got := tr.Combined(); got != 250 {
		t.Errorf("Combined = %#v after b caught up, want 250", got)
	}
}

func TestTracker_Tick_NeverPremature(t *testing.T) {
	tr, clk := newTestTracker(0, 10*time.Second)
	a := tr.Source("a")
	tr.Source("b")
	tr.Tick()
	clk.Advance(5 * time.Second)
	tr.UpdateID(a, 1) // activity at t=5s, stamped at the next tick
	clk.Advance(time.Second)
	tr.Tick() // stamped at 6s
	clk.Advance(9 * time.Second)
	tr.Tick() // 15s: 10s after the activity but 9s after the stamp
	if tr.State(a) != Active {
		t.Fatalf("a idle after %v, before the timeout counted from its stamp", 10*time.Second)
	}
	clk.Advance(time.Second)
	tr.Tick()
	if tr.State(a) != Idle {
		t.Errorf("State(a) = %v, want idle", tr.State(a))
	}
}

func TestTracker_Tick_AllIdle(t *testing.T) {
	tests := []struct {
		name   string
		policy AllIdle
		want   Watermark
	}{
		{"hold", AllIdleHold, 50},
		{"advance", AllIdleAdvance, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, clk := newTestTracker(0, time.Second, WithAllIdle(tt.policy))
			tr.Source("a")
			tr.Source("b")
			tr.Update("a", 100)
			tr.Update("b", 50)
			tr.Tick()
			clk.Advance(time.Second)
			if got := tr.Tick(); got != tt.want {
				t.Errorf("Combined = %#v with every source idle, want %#v", got, tt.want)
			}
			tr.Update("b", 70) // b resumes: min over active = b, never back
			if got, want := tr.Combined(), max(tt.want, 70); got != want {
				t.Errorf("Combined = %#v after b resumed, want %#v", got, want)
			}
		})
	}
}

// A finished source is at Max: once every unfinished source is idle, the
// finished ones decide, so what they left buffered is released (the
// fan-in must not stall behind an idle input).
func TestTracker_Tick_IdleWithFinishedIsMax(t *testing.T) {
	for _, policy := range []AllIdle{AllIdleHold, AllIdleAdvance} {
		tr, clk := newTestTracker(0, time.Second, WithAllIdle(policy))
		quiet, busy := tr.Source("quiet"), tr.Source("busy")
		tr.UpdateID(quiet, 10)
		tr.UpdateID(busy, 500)
		tr.Finish(busy)
		if got := tr.Combined(); got != 10 {
			t.Fatalf("Combined = %#v while quiet is active, want 10", got)
		}
		tr.Tick()
		clk.Advance(time.Second)
		if got := tr.Tick(); got != Max {
			t.Errorf("policy %v: Combined = %#v with quiet idle and busy finished, want Max", policy, got)
		}
	}
}

func TestTracker_Finish_AllFinishedIsMax(t *testing.T) {
	tr, _ := newTestTracker(0, 0)
	a, b := tr.Source("a"), tr.Source("b")
	tr.UpdateID(a, 10)
	tr.UpdateID(b, 20)
	tr.Finish(a)
	if got := tr.Combined(); got != 20 {
		t.Errorf("Combined = %#v after a finished, want 20", got)
	}
	if tr.UpdateID(a, 30) {
		t.Error("update to finished source applied")
	}
	tr.Finish(b)
	tr.Finish(b)
	if got := tr.Combined(); got != Max {
		t.Errorf("Combined = %#v after all finished, want Max", got)
	}
	if tr.State(a) != Finished {
		t.Errorf("State(a) = %v", tr.State(a))
	}
}

func TestTracker_IsLate_Lateness(t *testing.T) {
	tests := []struct {
		name      string
		lateness  time.Duration
		combined  Watermark
		eventTime int64
		want      bool
	}{
		{"before any progress", 0, Min, -1 << 62, false},
		{"behind", 0, 100, 99, true},
		{"at watermark", 0, 100, 100, false},
		{"within lateness", 10, 100, 90, false},
		{"beyond lateness", 10, 100, 89, true},
		{"no event time", 0, 100, NoEventTime, false},
		{"end of input", 0, Max, 1 << 62, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := newTestTracker(tt.lateness, 0)
			id := tr.Source("s")
			if tt.combined == Max {
				tr.Finish(id)
			} else {
				tr.UpdateID(id, tt.combined)
			}
			if got := tr.IsLate(tt.eventTime); got != tt.want {
				t.Errorf("IsLate(%d) = %v, want %v", tt.eventTime, got, tt.want)
			}
		})
	}
}

func TestTracker_Combined_Max(t *testing.T) {
	tr, _ := newTestTracker(0, 0, WithCombine(CombineMax))
	tr.Source("slow")
	tr.Source("fast")
	tr.Update("slow", 10)
	tr.Update("fast", 100)
	tr.Update("slow", 20)
	if got := tr.Combined(); got != 100 {
		t.Errorf("Combined = %#v, want 100", got)
	}
	if !tr.IsLate(50) {
		t.Error("item of the slow source behind the fastest is not late")
	}
}

func TestTracker_Ahead(t *testing.T) {
	tr, _ := newTestTracker(0, 0)
	a, b := tr.Source("a"), tr.Source("b")
	if got := tr.Ahead(a); got != 0 {
		t.Errorf("Ahead before progress = %v", got)
	}
	tr.UpdateID(a, Watermark(5*time.Second))
	tr.UpdateID(b, Watermark(2*time.Second))
	if got := tr.Ahead(a); got != 3*time.Second {
		t.Errorf("Ahead(a) = %v, want 3s", got)
	}
	if got := tr.Ahead(b); got != 0 {
		t.Errorf("Ahead(b) = %v, want 0", got)
	}
}

func TestTracker_Source_Registration(t *testing.T) {
	tr, _ := newTestTracker(0, 0)
	a := tr.Source("a")
	if again := tr.Source("a"); again != a {
		t.Errorf("Source twice = %d, %d", a, again)
	}
	if id, ok := tr.Lookup("a"); !ok || id != a {
		t.Errorf("Lookup(a) = %d, %v", id, ok)
	}
	if _, ok := tr.Lookup("z"); ok {
		t.Error("Lookup(z) found an unregistered source")
	}
	tr.UpdateID(a, 40)
	tr.Source("late-joiner") // holds at Min, but Combined never moves back
	if got := tr.Combined(); got != 40 {
		t.Errorf("Combined = %#v after registration, want 40", got)
	}
	tr.UpdateID(a, 50)
	if got := tr.Combined(); got != 40 {
		t.Errorf("Combined = %#v while the new source is at Min, want 40", got)
	}
	if tr.Len() != 2 || tr.AllowedLateness() != 0 {
		t.Errorf("Len = %d, AllowedLateness = %v", tr.Len(), tr.AllowedLateness())
	}
}

// TestTracker_Update_MatchesReference drives random updates, idleness and
// finishes and compares the heap-based tracker with a brute-force model.
func TestTracker_Update_MatchesReference(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewSource(seed))
		policy := AllIdle(rng.Intn(2))
		tr, clk := newTestTracker(0, 5*time.Second, WithAllIdle(policy))
		n := 1 + rng.Intn(20)
		wm := make([]Watermark, n)
		state := make([]SourceState, n)
		last := make([]time.Time, n) // time of last activity (stamped at ticks)
		touched := make([]bool, n)
		for i := range n {
			tr.Source(string(rune('a' + i)))
			wm[i] = Min
			last[i] = clk.Now()
		}
		want := Min
		for step := 0; step < 2000; step++ {
			i := rng.Intn(n)
			switch r := rng.Intn(100); {
			case r < 80:
				w := Watermark(rng.Intn(5000))
				tr.UpdateID(SourceID(i), w)
				if state[i] == Finished {
					break
				}
				touched[i] = true
				if state[i] == Idle {
					state[i] = Active
				}
				if w > wm[i] {
					wm[i] = w
				}
			case r < 98:
				clk.Advance(time.Duration(rng.Intn(3)) * time.Second)
				tr.Tick()
				for j := range n {
					if state[j] == Finished {
						continue
					}
					if touched[j] {
						touched[j] = false
						last[j] = clk.Now()
					} else if state[j] == Active && clk.Now().Sub(last[j]) >= 5*time.Second {
						state[j] = Idle
					}
				}
			default:
				tr.Finish(SourceID(i))
				if state[i] != Finished {
					state[i] = Finished
					wm[i] = Max
				}
			}
			// Reference: min over active, else (all unfinished idle) Max
			// if any finished, else the policy; Max once all finished.
			cand, active, unfinished, finished := Max, false, false, false
			for j := range n {
				if state[j] == Active {
					active = true
					cand = min(cand, wm[j])
				}
				if state[j] != Finished {
					unfinished = true
				} else {
					finished = true
				}
			}
			switch {
			case !unfinished:
				want = Max
			case active:
				want = max(want, cand)
			case finished:
				want = Max
			case policy == AllIdleAdvance:
				for j := range n {
					if state[j] == Idle {
						want = max(want, wm[j])
					}
				}
			}
			if got := tr.Combined(); got != want {
				t.Fatalf("seed %d step %d: Combined = %#v, want %#v", seed, step, got, want)
			}
			for j := range n {
				if tr.State(SourceID(j)) != state[j] {
					t.Fatalf("seed %d step %d: State(%d) = %v, want %v", seed, step, j, tr.State(SourceID(j)), state[j])
				}
			}
		}
	}
}

func TestSourceState_String(t *testing.T) {
	for s, want := range map[SourceState]string{Active: "active", Idle: "idle", Finished: "finished"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
	if CombineMin.String() != "min" || CombineMax.String() != "max" {
		t.Error("Combine.String")
	}
}

// An explicit idle mark takes effect at once, whatever the idle timeout
// (none here), and the source's next update makes it active again.
func TestTracker_MarkIdle(t *testing.T) {
	t.Parallel()
	tr, _ := newTestTracker(0, 0)
	a, b := tr.Source("a"), tr.Source("b")
	tr.UpdateID(a, 100)
	tr.UpdateID(b, 50)
	if got := tr.Combined(); got != 50 {
		t.Fatalf("Combined = %#v, want 50", got)
	}
	tr.MarkIdle(b)
	if got := tr.Combined(); got != 100 || tr.State(b) != Idle {
		t.Fatalf("after MarkIdle(b): Combined = %#v, b %v; want 100, idle", got, tr.State(b))
	}
	tr.MarkIdle(b) // again: nothing changes
	tr.UpdateID(b, 150)
	if tr.State(b) != Active {
		t.Fatalf("b is %v after its update, want active", tr.State(b))
	}
	tr.UpdateID(a, 300)
	if got := tr.Combined(); got != 150 {
		t.Errorf("Combined = %#v, want 150 (b holds it again)", got)
	}
	tr.MarkIdle(a)
	tr.MarkIdle(b) // every source idle: the default AllIdle policy holds
	if got := tr.Combined(); got != 150 {
		t.Errorf("Combined = %#v with all idle, want 150 (held)", got)
	}
	tr.Finish(a)
	tr.MarkIdle(a) // finished: stays finished
	if tr.State(a) != Finished {
		t.Errorf("a is %v, want finished", tr.State(a))
	}
}
