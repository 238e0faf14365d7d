package watermark

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"
)

func BenchmarkTracker_UpdateID(b *testing.B) {
	for _, n := range []int{16, 1000} {
		b.Run(fmt.Sprintf("sources=%d/round_robin", n), func(b *testing.B) {
			tr := NewTracker(0, time.Minute, WithClock(NewManualClock(time.Unix(0, 0))))
			for i := range n {
				tr.Source(fmt.Sprint("s", i))
			}
			b.ResetTimer()
			id := SourceID(0)
			for i := 0; i < b.N; i++ {
				// Every update moves the slowest source ahead of all the
				// others: the worst case (the minimum changes at every
				// level of the tree).
				tr.UpdateID(id, Watermark(i))
				if id++; int(id) == n {
					id = 0
				}
			}
		})
		b.Run(fmt.Sprintf("sources=%d/random", n), func(b *testing.B) {
			tr := NewTracker(0, time.Minute, WithClock(NewManualClock(time.Unix(0, 0))))
			for i := range n {
				tr.Source(fmt.Sprint("s", i))
			}
			rng := rand.New(rand.NewSource(1))
			order := make([]SourceID, 4096)
			for i := range order {
				order[i] = SourceID(rng.Intn(n))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tr.UpdateID(order[i&4095], Watermark(i))
			}
		})
	}
}

func BenchmarkTracker_Update_ByName(b *testing.B) {
	tr := NewTracker(0, time.Minute, WithClock(NewManualClock(time.Unix(0, 0))))
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprint("source-", i)
		tr.Source(names[i])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Update(names[i%1000], Watermark(i))
	}
}

var sinkWM Watermark

func BenchmarkTracker_Combined(b *testing.B) {
	tr := NewTracker(0, time.Minute, WithClock(NewManualClock(time.Unix(0, 0))))
	for i := range 1000 {
		tr.UpdateID(tr.Source(fmt.Sprint("s", i)), Watermark(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkWM = tr.Combined()
	}
}

func BenchmarkTracker_Tick(b *testing.B) {
	clk := NewManualClock(time.Unix(0, 0))
	tr := NewTracker(0, time.Minute, WithClock(clk))
	for i := range 1000 {
		tr.Source(fmt.Sprint("s", i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.UpdateID(SourceID(i%1000), Watermark(i))
		sinkWM = tr.Tick()
	}
}

type benchRec struct {
	t int64
}

// BenchmarkMerger_EventTime merges 16 inputs of 62,500 items each (1M in
// all, each input out of order within 100ns) and reports items/s. Pushes
// round-robin over the inputs, draining in batches whenever an input fills.
func BenchmarkMerger_EventTime(b *testing.B) {
	const inputs, total = 16, 1 << 20
	rng := rand.New(rand.NewSource(1))
	per := total / inputs
	data := make([][]*benchRec, inputs)
	for i := range data {
		data[i] = make([]*benchRec, per)
		for j := range data[i] {
			data[i][j] = &benchRec{t: int64(j*inputs+i)*10 - rng.Int63n(100)}
		}
	}
	out := make([]*benchRec, 0, 4096)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		m, err := NewMerger(MergerConfig[*benchRec]{
			EventTime: func(r *benchRec) int64 { return r.t },
			OnLate:    func(InputID, *benchRec) { b.Fatal("late item") },
			Clock:     NewManualClock(time.Unix(0, 0)),
		})
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]InputID, inputs)
		for i := range ids {
			ids[i] = m.AddInput(fmt.Sprint("in", i), InputConfig{Capacity: 1024, Generator: BoundedOutOfOrderness(100)})
		}
		emitted := 0
		for j := 0; j < per; j++ {
			for i, id := range ids {
				if m.Push(id, data[i][j]) == Full {
					out = m.Drain(out[:0])
					emitted += len(out)
				}
			}
		}
		for _, id := range ids {
			m.Close(id)
		}
		out = m.Drain(out[:0])
		emitted += len(out)
		if emitted != total {
			b.Fatalf("emitted %d of %d", emitted, total)
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total*b.N), "ns/item")
}

func BenchmarkMerger_Arrival(b *testing.B) {
	m, err := NewMerger(MergerConfig[*benchRec]{
		Strategy: Arrival, EventTime: func(r *benchRec) int64 { return r.t },
		OnLate: func(InputID, *benchRec) {}, Clock: NewManualClock(time.Unix(0, 0)),
	})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]InputID, 16)
	for i := range ids {
		ids[i] = m.AddInput(fmt.Sprint("in", i), InputConfig{Generator: BoundedOutOfOrderness(100)})
	}
	recs := make([]benchRec, 1024)
	for i := range recs {
		recs[i].t = int64(i)
	}
	out := make([]*benchRec, 0, 1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &recs[i&1023]
		r.t = int64(i)
		if m.Push(ids[i&15], r) == Full || i&255 == 255 {
			out = m.Drain(out[:0])
		}
	}
}

// BenchmarkMerger_EventTime_Disorder merges 1M items from 16 or 2 inputs
// whose items are displaced uniformly by up to 1,000 positions within their
// input (the engine's realistic case: 500 events/s with 2 s of disorder),
// capacity 8192, and reports items/s. It drains every 64 pushes (and on
// Full), as the engine's output goroutine does, so each buffer holds about
// one disorder window.
func BenchmarkMerger_EventTime_Disorder(b *testing.B) {
	const total, disorder = 1 << 20, 1000
	for _, inputs := range []int{16, 2} {
		b.Run(fmt.Sprintf("inputs=%d", inputs), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			per := total / inputs
			spacing := int64(inputs) * 10 // ns between consecutive items of one input
			data := make([][]*benchRec, inputs)
			for i := range data {
				data[i] = displaced(rng, per, disorder, func(j int) int64 { return int64(j*inputs+i) * 10 })
			}
			bound := time.Duration(disorder * spacing)
			out := make([]*benchRec, 0, 4096)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				m, err := NewMerger(MergerConfig[*benchRec]{
					EventTime: func(r *benchRec) int64 { return r.t },
					OnLate:    func(InputID, *benchRec) { b.Fatal("late item") },
					Clock:     NewManualClock(time.Unix(0, 0)),
				})
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]InputID, inputs)
				for i := range ids {
					ids[i] = m.AddInput(fmt.Sprint("in", i), InputConfig{Capacity: 8192, Generator: BoundedOutOfOrderness(bound)})
				}
				emitted, pushes := 0, 0
				for j := 0; j < per; j++ {
					for i, id := range ids {
						pushes++
						if m.Push(id, data[i][j]) == Full || pushes&63 == 0 {
							out = m.Drain(out[:0])
							emitted += len(out)
						}
					}
				}
				for _, id := range ids {
					m.Close(id)
				}
				out = m.Drain(out[:0])
				emitted += len(out)
				if emitted != total {
					b.Fatalf("emitted %d of %d", emitted, total)
				}
			}
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total*b.N), "ns/item")
		})
	}
}

// displaced returns n items with event times at(0) … at(n-1), in an order
// where each item is moved by up to d positions: item j is sorted by the
// key j + U[0, d).
func displaced(rng *rand.Rand, n, d int, at func(int) int64) []*benchRec {
	type keyed struct {
		key int
		rec *benchRec
	}
	ks := make([]keyed, n)
	for j := range ks {
		ks[j] = keyed{key: j + rng.Intn(d), rec: &benchRec{t: at(j)}}
	}
	sort.SliceStable(ks, func(a, b int) bool { return ks[a].key < ks[b].key })
	recs := make([]*benchRec, n)
	for j := range ks {
		recs[j] = ks[j].rec
	}
	return recs
}
