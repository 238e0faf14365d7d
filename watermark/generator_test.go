package watermark

import (
	"testing"
	"time"
)

func TestGenerator_Current_BoundedOutOfOrderness(t *testing.T) {
	tests := []struct {
		name   string
		cfg    GeneratorConfig
		times  []int64
		want   Watermark
		maxSee int64
	}{
		{"nothing seen", BoundedOutOfOrderness(5), nil, Min, NoEventTime},
		{"monotonic is max minus 1ns", Monotonic(), []int64{10, 20, 30}, 29, 30},
		{"bound", BoundedOutOfOrderness(5), []int64{10, 30, 20}, 24, 30},
		{"older items do not move it", BoundedOutOfOrderness(5), []int64{100, 1, 2}, 94, 100},
		{"negative bound is 0", BoundedOutOfOrderness(-5), []int64{10}, 9, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGenerator(tt.cfg)
			for _, et := range tt.times {
				if obs := g.Observe(et); obs.Verdict != Accepted || obs.Time != et {
					t.Fatalf("Observe(%d) = %+v", et, obs)
				}
			}
			if got := g.Current(); got != tt.want {
				t.Errorf("Current() = %#v, want %#v", got, tt.want)
			}
			if got := g.MaxSeen(); got != tt.maxSee {
				t.Errorf("MaxSeen() = %d, want %d", got, tt.maxSee)
			}
		})
	}
}

func TestGenerator_Observe_Policies(t *testing.T) {
	now := time.Unix(1000, 0)
	clk := NewManualClock(now)
	tests := []struct {
		name      string
		cfg       GeneratorConfig
		eventTime int64
		want      Observation
		wantWM    Watermark
	}{
		{"missing dead-letter by default", GeneratorConfig{}, NoEventTime, Observation{NoEventTime, DeadLetter}, Min},
		{"missing drop", GeneratorConfig{Missing: MissingDrop}, NoEventTime, Observation{NoEventTime, Drop}, Min},
		{"missing processing time", GeneratorConfig{Missing: MissingProcessingTime}, NoEventTime,
			Observation{now.UnixNano(), Assigned}, Watermark(now.UnixNano() - 1)},
		{"future within guard", GeneratorConfig{MaxFuture: time.Minute}, now.Add(time.Minute).UnixNano(),
			Observation{now.Add(time.Minute).UnixNano(), Accepted}, Watermark(now.Add(time.Minute).UnixNano() - 1)},
		{"future clamped", GeneratorConfig{MaxFuture: time.Minute}, now.Add(time.Hour).UnixNano(),
			Observation{now.Add(time.Minute).UnixNano(), Clamped}, Watermark(now.Add(time.Minute).UnixNano() - 1)},
		{"future dead-letter", GeneratorConfig{MaxFuture: time.Minute, Future: FutureDeadLetter}, now.Add(time.Hour).UnixNano(),
			Observation{NoEventTime, DeadLetter}, Min},
		{"huge guard does not overflow", GeneratorConfig{MaxFuture: time.Duration(1<<63 - 1)}, now.Add(time.Hour).UnixNano(),
			Observation{now.Add(time.Hour).UnixNano(), Accepted}, Watermark(now.Add(time.Hour).UnixNano() - 1)},
		{"no guard", GeneratorConfig{}, now.Add(time.Hour).UnixNano(),
			Observation{now.Add(time.Hour).UnixNano(), Accepted}, Watermark(now.Add(time.Hour).UnixNano() - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Clock = clk
			g := NewGenerator(tt.cfg)
			if got := g.Observe(tt.eventTime); got != tt.want {
				t.Errorf("Observe = %+v, want %+v", got, tt.want)
			}
			if got := g.Current(); got != tt.wantWM {
				t.Errorf("Current = %#v, want %#v", got, tt.wantWM)
			}
		})
	}
}

func TestVerdict_Rejected(t *testing.T) {
	for v, want := range map[Verdict]bool{Accepted: false, Assigned: false, Clamped: false, Drop: true, DeadLetter: true} {
		if v.Rejected() != want {
			t.Errorf("%v.Rejected() = %v, want %v", v, v.Rejected(), want)
		}
	}
}

func TestParseMissingPolicy_Names(t *testing.T) {
	for _, p := range []MissingPolicy{MissingDeadLetter, MissingDrop, MissingProcessingTime} {
		got, err := ParseMissingPolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParseMissingPolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParseMissingPolicy("ignore"); err == nil {
		t.Error("ParseMissingPolicy(ignore) succeeded")
	}
}

func TestParseFuturePolicy_Names(t *testing.T) {
	for _, p := range []FuturePolicy{FutureClamp, FutureDeadLetter} {
		got, err := ParseFuturePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParseFuturePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParseFuturePolicy("drop"); err == nil {
		t.Error("ParseFuturePolicy(drop) succeeded")
	}
}

func TestVerdict_String(t *testing.T) {
	want := map[Verdict]string{Accepted: "accepted", Assigned: "assigned", Clamped: "clamped", Drop: "drop", DeadLetter: "dead_letter"}
	for v, s := range want {
		if v.String() != s {
			t.Errorf("%d.String() = %q, want %q", v, v.String(), s)
		}
	}
}

func TestGenerator_Advance(t *testing.T) {
	t.Parallel()
	g := NewGenerator(BoundedOutOfOrderness(5))
	g.Advance(100)
	if got := g.Current(); got != 100 {
		t.Fatalf("Current() after Advance(100) with nothing seen = %v, want 100", got)
	}
	if got := g.MaxSeen(); got != NoEventTime {
		t.Errorf("MaxSeen() = %d: Advance is not an item", got)
	}
	g.Observe(50) // behind the floor: the watermark stays
	if got := g.Current(); got != 100 {
		t.Errorf("Current() after an older item = %v, want 100", got)
	}
	g.Advance(10) // never goes back
	if got := g.Current(); got != 100 {
		t.Errorf("Current() after Advance(10) = %v, want 100", got)
	}
	g.Observe(200) // items move it past the floor as usual
	if got := g.Current(); got != 194 {
		t.Errorf("Current() after 200 = %v, want 194", got)
	}
}

func TestManualClock_ConcurrentUse(t *testing.T) {
	t.Parallel()
	c := NewManualClock(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			c.Advance(time.Second)
		}
	}()
	prev := time.Unix(0, 0)
	for range 1000 {
		now := c.Now()
		if now.Before(prev) {
			t.Fatalf("the clock went back: %v after %v", now, prev)
		}
		prev = now
	}
	<-done
	if got := c.Now(); !got.Equal(time.Unix(1000, 0)) {
		t.Errorf("Now() = %v, want 1000s after the epoch", got)
	}
}
