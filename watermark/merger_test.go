package watermark

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

type item struct {
	id int   // unique per test
	in int   // input index
	t  int64 // event time
}

func itemTime(it item) int64 { return it.t }

type lateLog struct {
	items []item
}

func newTestMerger(t *testing.T, cfg MergerConfig[item]) (*Merger[item], *lateLog, *ManualClock) {
	t.Helper()
	clk := NewManualClock(time.Unix(1000, 0))
	late := &lateLog{}
	if cfg.Clock == nil {
		cfg.Clock = clk
	}
	if cfg.EventTime == nil {
		cfg.EventTime = itemTime
	}
	cfg.OnLate = func(_ InputID, it item) { late.items = append(late.items, it) }
	m, err := NewMerger(cfg)
	if err != nil {
		t.Fatalf("NewMerger: %v", err)
	}
	return m, late, clk
}

func ids(items []item) []int {
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it.id
	}
	return out
}

func TestNewMerger_Errors(t *testing.T) {
	late := func(InputID, item) {}
	tests := []struct {
		name string
		cfg  MergerConfig[item]
	}{
		{"no OnLate", MergerConfig[item]{EventTime: itemTime}},
		{"event time without accessor", MergerConfig[item]{OnLate: late}},
		{"unknown strategy", MergerConfig[item]{Strategy: 9, EventTime: itemTime, OnLate: late}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewMerger(tt.cfg); err == nil {
				t.Error("NewMerger succeeded")
			}
		})
	}
	if _, err := NewMerger(MergerConfig[item]{Strategy: Arrival, OnLate: late}); err != nil {
		t.Errorf("arrival without accessor: %v", err)
	}
}

func TestMerger_Drain_EventTimeOrder(t *testing.T) {
	m, late, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{})
	b := m.AddInput("b", InputConfig{})
	for _, it := range []item{{1, 0, 10}, {2, 0, 30}, {3, 1, 20}, {4, 1, 25}, {5, 0, 40}} {
		if st := m.Push(InputID(it.in), it); st != Buffered {
			t.Fatalf("Push(%v) = %v", it, st)
		}
	}
	// a's watermark is 39, b's is 24: items up to 24 are released.
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("Drain = %v, want [1 3]", got)
	}
	m.Close(b)
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{4, 2}) {
		t.Fatalf("Drain after closing b = %v, want [4 2]", got)
	}
	m.Close(a)
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{5}) {
		t.Fatalf("Drain after closing all = %v, want [5]", got)
	}
	if !m.Done() || m.Len() != 0 || len(late.items) != 0 {
		t.Errorf("Done = %v, Len = %d, late = %v", m.Done(), m.Len(), late.items)
	}
}

func TestMerger_Drain_TiesKeepArrivalOrder(t *testing.T) {
	m, _, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{Generator: BoundedOutOfOrderness(10)})
	b := m.AddInput("b", InputConfig{Generator: BoundedOutOfOrderness(10)})
	m.Push(b, item{1, 1, 5})
	m.Push(a, item{2, 0, 5})
	m.Push(a, item{3, 0, 7})
	m.Push(a, item{4, 0, 5}) // out of order within a, ties with 2
	m.Push(b, item{5, 1, 5})
	m.Close(a)
	m.Close(b)
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1, 2, 4, 5, 3}) {
		t.Errorf("Drain = %v, want [1 2 4 5 3]", got)
	}
}

func TestMerger_Push_Late(t *testing.T) {
	m, late, _ := newTestMerger(t, MergerConfig[item]{AllowedLateness: 5})
	a := m.AddInput("a", InputConfig{Generator: BoundedOutOfOrderness(100)})
	m.Push(a, item{1, 0, 1000}) // watermark 899
	tests := []struct {
		it   item
		want Status
	}{
		{item{2, 0, 894}, Buffered}, // exactly Combined - lateness: on time
		{item{3, 0, 893}, Late},
		{item{4, 0, 950}, Buffered},
	}
	for _, tt := range tests {
		if got := m.Push(a, tt.it); got != tt.want {
			t.Errorf("Push(%v) = %v, want %v", tt.it, got, tt.want)
		}
	}
	if got := ids(late.items); !slices.Equal(got, []int{3}) {
		t.Errorf("late = %v, want [3]", got)
	}
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{2}) {
		t.Errorf("Drain = %v, want [2] (released up to 899-5)", got)
	}
	if s := m.Stats(); s.Late != 1 || s.Pushed != 3 || s.Emitted != 1 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestMerger_Tick_IdleInputDoesNotStall(t *testing.T) {
	m, late, clk := newTestMerger(t, MergerConfig[item]{IdleTimeout: 10 * time.Second})
	a := m.AddInput("a", InputConfig{})
	b := m.AddInput("b", InputConfig{})
	m.Push(b, item{1, 1, 5}) // b then goes silent
	m.Tick()
	for i := 0; i < 5; i++ {
		m.Push(a, item{10 + i, 0, int64(10 + i)})
	}
	if got := m.Drain(nil); len(got) != 0 {
		t.Fatalf("Drain = %v while b holds the watermark at 4", ids(got))
	}
	clk.Advance(9 * time.Second)
	m.Push(a, item{20, 0, 20})
	m.Tick()
	if got := m.Drain(nil); len(got) != 0 {
		t.Fatalf("Drain = %v before b's idle timeout", ids(got))
	}
	clk.Advance(time.Second)
	m.Tick()
	if st := m.Status(b).State; st != Idle {
		t.Fatalf("b is %v, want idle", st)
	}
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1, 10, 11, 12, 13, 14}) {
		t.Errorf("Drain after b went idle = %v", got)
	}
	// b resumes behind the watermark (19): its old item is late, a new one is fine.
	if st := m.Push(b, item{30, 1, 15}); st != Late {
		t.Errorf("Push of b's old item = %v, want late", st)
	}
	if st := m.Push(b, item{31, 1, 25}); st != Buffered {
		t.Errorf("Push of b's new item = %v, want buffered", st)
	}
	if got := ids(late.items); !slices.Equal(got, []int{30}) {
		t.Errorf("late = %v", got)
	}
	m.Push(a, item{32, 0, 40})
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{20}) {
		t.Errorf("Drain after b resumed = %v, want [20] (b holds at 24)", got)
	}
}

func TestMerger_Push_MaxWatermarkMakesSlowInputLate(t *testing.T) {
	m, late, _ := newTestMerger(t, MergerConfig[item]{Combine: CombineMax})
	fast := m.AddInput("fast", InputConfig{})
	slow := m.AddInput("slow", InputConfig{})
	m.Push(fast, item{1, 0, 100})
	m.Push(slow, item{2, 1, 50})
	m.Push(fast, item{3, 0, 101})
	if got := ids(late.items); !slices.Equal(got, []int{2}) {
		t.Errorf("late = %v, want [2]", got)
	}
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1}) {
		t.Errorf("Drain = %v, want [1]", got)
	}
}

func TestMerger_Push_FullAndOverflow(t *testing.T) {
	var space []InputID
	m, _, _ := newTestMerger(t, MergerConfig[item]{OnSpace: func(in InputID) { space = append(space, in) }})
	a := m.AddInput("a", InputConfig{Capacity: 2, Generator: BoundedOutOfOrderness(1000)})
	b := m.AddInput("b", InputConfig{})
	if st := m.Push(a, item{1, 0, 10}); st != Buffered {
		t.Fatalf("first push = %v", st)
	}
	if st := m.Push(a, item{2, 0, 20}); st != Full {
		t.Fatalf("second push = %v, want full", st)
	}
	if !m.Full(a) || m.Full(b) {
		t.Errorf("Full(a) = %v, Full(b) = %v", m.Full(a), m.Full(b))
	}
	if st := m.Push(a, item{3, 0, 30}); st != Overflow || st.Taken() {
		t.Errorf("push to full input = %v", st)
	}
	// a is full and all its items are ahead of its own watermark (20-1000-1):
	// the full buffer forced a's watermark to its oldest item (10); b still
	// holds the merge at Min.
	if got := m.Status(a).Watermark; got != 10 {
		t.Errorf("a's watermark = %#v, want 10 (forced)", got)
	}
	m.Push(b, item{4, 1, 15})
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1}) {
		t.Fatalf("Drain = %v, want [1]", got)
	}
	if !slices.Equal(space, []InputID{a}) || m.Full(a) {
		t.Errorf("OnSpace calls = %v, Full(a) = %v", space, m.Full(a))
	}
	if s := m.Stats(); s.Forced != 1 || s.Overflow != 1 {
		t.Errorf("Stats = %+v", s)
	}
}

// TestMerger_Push_FullForcesToOldest checks that the forced advance of a
// full input uses its oldest item by event time, whether that item sits in
// the sorted run (pushed in order) or in the out-of-order heap.
func TestMerger_Push_FullForcesToOldest(t *testing.T) {
	tests := []struct {
		name  string
		times []int64
		want  Watermark // oldest + lateness (5)
	}{
		{"in order", []int64{10, 20, 30}, 15},
		{"oldest pushed last", []int64{30, 20, 10}, 15},
		{"oldest in the middle", []int64{20, 10, 30}, 15},
		{"run tail ahead of heap", []int64{40, 25, 50}, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := newTestMerger(t, MergerConfig[item]{AllowedLateness: 5})
			a := m.AddInput("a", InputConfig{Capacity: len(tt.times), Generator: BoundedOutOfOrderness(1000)})
			var st Status
			for i, et := range tt.times {
				st = m.Push(a, item{i, 0, et})
			}
			if st != Full {
				t.Fatalf("last push = %v, want full", st)
			}
			if got := m.Status(a).Watermark; got != tt.want {
				t.Errorf("a's watermark = %d, want %d (oldest plus lateness)", got, tt.want)
			}
			if s := m.Stats(); s.Forced != 1 {
				t.Errorf("Forced = %d, want 1", s.Forced)
			}
			// The oldest item, and only it, is releasable.
			got := m.Drain(nil)
			if len(got) != 1 || got[0].t != int64(tt.want)-5 {
				t.Errorf("Drain = %v, want the item at %d", got, int64(tt.want)-5)
			}
		})
	}
}

// TestMerger_Drain_DisorderMatchesStableSort pushes inputs with heavy
// disorder and many equal times (so items of one time are split between an
// input's sorted run and its out-of-order heap) and checks that the merge,
// drained at random points, equals a stable sort of the push order by event
// time.
func TestMerger_Drain_DisorderMatchesStableSort(t *testing.T) {
	tests := []struct {
		name             string
		inputs, per, win int
	}{
		{"one input", 1, 2000, 50},
		{"two inputs", 2, 1000, 200},
		{"five inputs", 5, 400, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(tt.inputs)))
			m, late, _ := newTestMerger(t, MergerConfig[item]{})
			in := make([]InputID, tt.inputs)
			for i := range in {
				// A bound covering the disorder and room for every item:
				// nothing is late or forced.
				in[i] = m.AddInput(fmt.Sprint(i), InputConfig{Capacity: tt.per + 1, Generator: BoundedOutOfOrderness(time.Duration(tt.win))})
			}
			var pushed, out []item
			for j := range tt.per {
				for i, id := range in {
					// Times in [j-win+1, j], coarse so that ties are frequent.
					et := int64(j-rng.Intn(tt.win)) / 4 * 4
					it := item{len(pushed), i, et}
					if st := m.Push(id, it); st != Buffered {
						t.Fatalf("Push(%v) = %v", it, st)
					}
					pushed = append(pushed, it)
				}
				if rng.Intn(10) == 0 {
					out = m.DrainN(out, rng.Intn(20)-1)
				}
			}
			for _, id := range in {
				m.Close(id)
			}
			out = m.Drain(out)
			want := slices.Clone(pushed)
			slices.SortStableFunc(want, func(a, b item) int { return int(a.t - b.t) })
			if !slices.Equal(ids(out), ids(want)) {
				t.Errorf("merge differs from the stable sort (%d items, %d late)", len(out), len(late.items))
			}
			if s := m.Stats(); s.Forced != 0 || len(late.items) != 0 {
				t.Errorf("Stats = %+v, late = %d; the test's bound should avoid both", s, len(late.items))
			}
		})
	}
}

func TestMerger_Push_FullInputsNeverDeadlock(t *testing.T) {
	// One input, large disorder bound, tiny buffer: without the forced
	// advance nothing could ever be released.
	m, _, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{Capacity: 3, Generator: BoundedOutOfOrderness(time.Hour)})
	var out []item
	for i := 0; i < 100; i++ {
		for m.Full(a) {
			before := len(out)
			out = m.Drain(out)
			if len(out) == before {
				t.Fatalf("merge stalled at item %d", i)
			}
		}
		m.Push(a, item{i, 0, int64(i)})
	}
	m.Close(a)
	out = m.Drain(out)
	if len(out) != 100 {
		t.Errorf("emitted %d items, want 100", len(out))
	}
}

func TestMerger_Push_RejectedByGenerator(t *testing.T) {
	clk := NewManualClock(time.Unix(1000, 0))
	set := func(it item, t int64) item { it.t = t; return it }
	m, _, _ := newTestMerger(t, MergerConfig[item]{Clock: clk, SetEventTime: set})
	dl := m.AddInput("dl", InputConfig{})
	drop := m.AddInput("drop", InputConfig{Generator: GeneratorConfig{Missing: MissingDrop}})
	pt := m.AddInput("pt", InputConfig{Generator: GeneratorConfig{Missing: MissingProcessingTime, MaxFuture: time.Second}})
	if st := m.Push(dl, item{1, 0, NoEventTime}); st != RejectedDeadLetter || st.Taken() {
		t.Errorf("dead-letter push = %v", st)
	}
	if st := m.Push(drop, item{2, 1, NoEventTime}); st != RejectedDrop {
		t.Errorf("drop push = %v", st)
	}
	if st := m.Push(pt, item{3, 2, NoEventTime}); st != Buffered {
		t.Errorf("processing-time push = %v", st)
	}
	if st := m.Push(pt, item{4, 2, clk.Now().Add(time.Hour).UnixNano()}); st != Buffered {
		t.Errorf("future push = %v", st)
	}
	m.Close(dl)
	m.Close(drop)
	m.Close(pt)
	got := m.Drain(nil)
	want := []item{{3, 2, clk.Now().UnixNano()}, {4, 2, clk.Now().Add(time.Second).UnixNano()}}
	if !slices.Equal(got, want) {
		t.Errorf("Drain = %v, want %v", got, want)
	}
	if m.Stats().Rejected != 2 {
		t.Errorf("Rejected = %d", m.Stats().Rejected)
	}
}

func TestMerger_Advance_ExplicitWatermarks(t *testing.T) {
	m, _, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{ExplicitWatermarks: true})
	m.Push(a, item{1, 0, 10})
	m.Push(a, item{2, 0, 20})
	if got := m.Drain(nil); len(got) != 0 {
		t.Fatalf("Drain = %v before any explicit watermark", ids(got))
	}
	m.Advance(a, 15)
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1}) {
		t.Fatalf("Drain = %v, want [1]", got)
	}
	m.Advance(a, 12)
	if m.Regressions() != 1 || m.Watermark() != 15 {
		t.Errorf("Regressions = %d, Watermark = %#v", m.Regressions(), m.Watermark())
	}
	m.Advance(a, 15)
	if m.Regressions() != 1 {
		t.Errorf("equal watermark counted as regression")
	}
}

func TestMerger_Drain_Arrival(t *testing.T) {
	m, _, _ := newTestMerger(t, MergerConfig[item]{Strategy: Arrival})
	a := m.AddInput("a", InputConfig{Generator: BoundedOutOfOrderness(100)})
	b := m.AddInput("b", InputConfig{Generator: BoundedOutOfOrderness(100)})
	m.Push(a, item{1, 0, 30})
	m.Push(b, item{2, 1, 10})
	m.Push(a, item{3, 0, 20})
	if got := ids(m.DrainN(nil, 2)); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("DrainN(2) = %v, want [1 2]", got)
	}
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{3}) {
		t.Errorf("Drain = %v, want [3]", got)
	}
}

func TestMerger_Drain_RoundRobin(t *testing.T) {
	m, _, clk := newTestMerger(t, MergerConfig[item]{Strategy: RoundRobin, IdleTimeout: time.Second})
	a := m.AddInput("a", InputConfig{Generator: BoundedOutOfOrderness(100)})
	b := m.AddInput("b", InputConfig{Generator: BoundedOutOfOrderness(100)})
	c := m.AddInput("c", InputConfig{Generator: BoundedOutOfOrderness(100)})
	m.Push(a, item{1, 0, 1})
	m.Push(a, item{2, 0, 2})
	m.Push(a, item{3, 0, 3})
	m.Push(b, item{4, 1, 1})
	m.Tick()
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1, 4}) {
		t.Fatalf("Drain = %v, want [1 4] then wait for c", got)
	}
	m.Close(c)
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{2}) {
		t.Fatalf("Drain = %v, want [2] then wait for b", got)
	}
	clk.Advance(time.Second)
	m.Push(a, item{5, 0, 4}) // keeps a active; b goes idle
	m.Tick()
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{3, 5}) {
		t.Fatalf("Drain = %v, want [3 5] skipping idle b and closed c", got)
	}
}

func TestMerger_Push_ClosedPanics(t *testing.T) {
	m, _, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{})
	m.Close(a)
	m.Close(a)
	defer func() {
		if recover() == nil {
			t.Error("Push to a closed input did not panic")
		}
	}()
	m.Push(a, item{1, 0, 1})
}

func TestMerger_AddInput_Idempotent(t *testing.T) {
	m, _, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{Capacity: 3})
	if again := m.AddInput("a", InputConfig{Capacity: 9}); again != a {
		t.Errorf("AddInput twice = %d, %d", a, again)
	}
	if id, ok := m.Input("a"); !ok || id != a {
		t.Errorf("Input(a) = %d, %v", id, ok)
	}
	if got := m.Status(a); got.Capacity != 3 || got.Name != "a" {
		t.Errorf("Status = %+v", got)
	}
}

func TestParseStrategy_Names(t *testing.T) {
	for _, s := range []Strategy{EventTime, Arrival, RoundRobin} {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s.String(), got, err)
		}
	}
	for _, c := range []Combine{CombineMin, CombineMax} {
		got, err := ParseCombine(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCombine(%q) = %v, %v", c.String(), got, err)
		}
	}
	if _, err := ParseStrategy("random"); err == nil {
		t.Error("ParseStrategy(random) succeeded")
	}
	if _, err := ParseCombine("avg"); err == nil {
		t.Error("ParseCombine(avg) succeeded")
	}
}

func TestStatus_String(t *testing.T) {
	want := map[Status]string{Buffered: "buffered", Full: "full", Late: "late",
		RejectedDrop: "rejected_drop", RejectedDeadLetter: "rejected_dead_letter", Overflow: "overflow"}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), w)
		}
	}
}

// TestMerger_EventTime_Properties pushes random interleavings of N inputs
// with bounded disorder (plus some stragglers far behind) and checks the
// invariants of the event-time merge:
//   - the output is sorted by event time, and equal times keep push order;
//   - every pushed item appears exactly once, in the output or in OnLate;
//   - no item is emitted before the combined watermark has passed it;
//   - a late item really was behind the watermark minus the lateness;
//   - the caller's backpressure protocol (wait while Full) never deadlocks.
func TestMerger_EventTime_Properties(t *testing.T) {
	var sum MergerStats
	for seed := int64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := checkMergeProperties(t, seed)
			sum.Emitted += s.Emitted
			sum.Late += s.Late
			sum.Forced += s.Forced
		})
	}
	// The generated inputs must exercise every path, or the test proves little.
	if sum.Emitted == 0 || sum.Late == 0 || sum.Forced == 0 {
		t.Errorf("property runs did not exercise every path: %+v", sum)
	}
}

func checkMergeProperties(t *testing.T, seed int64) MergerStats {
	rng := rand.New(rand.NewSource(seed))
	n := 1 + rng.Intn(6)
	bound := int64(rng.Intn(50))
	lateness := time.Duration(rng.Intn(20))
	combine := Combine(rng.Intn(2))
	clk := NewManualClock(time.Unix(1000, 0))
	var m *Merger[item]
	lateIDs := map[int]bool{}
	var err error
	m, err = NewMerger(MergerConfig[item]{
		Combine:         combine,
		AllowedLateness: lateness,
		IdleTimeout:     time.Duration(1+rng.Intn(5)) * time.Second,
		AllIdle:         AllIdle(rng.Intn(2)),
		Clock:           clk,
		EventTime:       itemTime,
		OnLate: func(in InputID, it item) {
			if w := m.Watermark(); Watermark(it.t) >= sub(w, int64(lateness)) {
				t.Fatalf("item %v reported late at watermark %d", it, w)
			}
			if lateIDs[it.id] {
				t.Fatalf("item %v late twice", it)
			}
			lateIDs[it.id] = true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	type src struct {
		id       InputID
		base     int64
		left     int
		explicit bool
		maxSeen  int64
	}
	srcs := make([]*src, n)
	total := 0
	for i := range srcs {
		explicit := rng.Intn(4) == 0
		cfg := InputConfig{Capacity: 1 + rng.Intn(32), Generator: BoundedOutOfOrderness(time.Duration(bound)), ExplicitWatermarks: explicit}
		srcs[i] = &src{id: m.AddInput(fmt.Sprint("in", i), cfg), left: rng.Intn(300), explicit: explicit, maxSeen: -1 << 40}
		total += srcs[i].left
	}
	pushSeq := map[int]int{} // item id -> order of acceptance
	times := map[int]int64{}
	emitted := map[int]bool{}
	var lastT int64 = -1 << 62
	lastSeq := -1
	nextID := 0
	drain := func(limit int) {
		w := m.Watermark()
		for _, it := range m.DrainN(nil, limit) {
			if Watermark(it.t) > w {
				t.Fatalf("item %v emitted before the watermark passed it (watermark %d)", it, w)
			}
			if it.t < lastT || (it.t == lastT && pushSeq[it.id] < lastSeq) {
				t.Fatalf("item %v (seq %d) out of order after t=%d seq=%d", it, pushSeq[it.id], lastT, lastSeq)
			}
			if emitted[it.id] || lateIDs[it.id] {
				t.Fatalf("item %v emitted twice", it)
			}
			emitted[it.id] = true
			lastT, lastSeq = it.t, pushSeq[it.id]
		}
	}
	open := n
	for open > 0 {
		s := srcs[rng.Intn(n)]
		switch r := rng.Intn(100); {
		case r < 70:
			if s.left == 0 {
				if s.left == 0 && !m.inputs[s.id].closed {
					m.Close(s.id)
					open--
				}
				continue
			}
			if m.Full(s.id) {
				drain(rng.Intn(8) - 1)
				continue
			}
			s.base += int64(rng.Intn(6))
			et := s.base - rng.Int63n(bound+1)
			if rng.Intn(50) == 0 {
				et = s.base - 10*bound - int64(rng.Intn(200)) // a straggler
			}
			it := item{id: nextID, in: int(s.id), t: et}
			nextID++
			times[it.id] = et
			st := m.Push(s.id, it)
			switch st {
			case Buffered, Full:
				pushSeq[it.id] = len(pushSeq)
			case Late:
				if !lateIDs[it.id] {
					t.Fatalf("Push returned Late but OnLate did not see %v", it)
				}
			default:
				t.Fatalf("Push(%v) = %v", it, st)
			}
			s.left--
			s.maxSeen = max(s.maxSeen, et)
			if s.explicit && rng.Intn(3) == 0 {
				m.Advance(s.id, Watermark(s.maxSeen-bound-1))
			}
		case r < 90:
			drain(rng.Intn(8) - 1)
		default:
			clk.Advance(time.Duration(rng.Intn(1500)) * time.Millisecond)
			m.Tick()
		}
	}
	drain(-1)
	if m.Len() > 0 {
		t.Fatalf("%d items stuck after every input closed", m.Len())
	}
	if !m.Done() {
		t.Error("Done() = false after closing and draining everything")
	}
	if got := len(emitted) + len(lateIDs); got != total {
		t.Errorf("emitted %d + late %d = %d, pushed %d", len(emitted), len(lateIDs), got, total)
	}
	s := m.Stats()
	if int(s.Emitted) != len(emitted) || int(s.Late) != len(lateIDs) || int(s.Pushed) != len(pushSeq) {
		t.Errorf("Stats = %+v, emitted %d late %d pushed %d", s, len(emitted), len(lateIDs), len(pushSeq))
	}
	return s
}

// An input marked idle stops holding the merge at once; its next push
// makes it hold again.
func TestMerger_MarkIdle(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestMerger(t, MergerConfig[item]{})
	a := m.AddInput("a", InputConfig{})
	b := m.AddInput("b", InputConfig{})
	m.Push(b, item{1, 1, 5})
	m.Push(a, item{2, 0, 10})
	m.Push(a, item{3, 0, 20})
	if got := ids(m.Drain(nil)); len(got) != 0 {
		t.Fatalf("Drain = %v, want none (b holds at 4)", got)
	}
	m.MarkIdle(b)
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("Drain after b idles = %v, want [1 2] (a's watermark is 19)", got)
	}
	m.Push(b, item{4, 1, 25})
	m.Push(a, item{5, 0, 40})
	if got := ids(m.Drain(nil)); !slices.Equal(got, []int{3}) {
		t.Errorf("Drain after b is back = %v, want [3] (b holds at 24)", got)
	}
}
