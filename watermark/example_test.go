package watermark_test

import (
	"fmt"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/watermark"
)

// The seed's timeline: two sources advance, the combined watermark is the
// minimum of the two, and items behind it (minus the allowed lateness) are
// late.
func ExampleTracker() {
	clock := watermark.NewManualClock(time.Unix(0, 0))
	tr := watermark.NewTracker(2*time.Second, time.Minute, watermark.WithClock(clock))
	s1, s2 := tr.Source("source-1"), tr.Source("source-2")

	at := func(sec int64) watermark.Watermark { return watermark.Watermark(sec * int64(time.Second)) }
	tr.UpdateID(s1, at(10))
	fmt.Println("s1=10 s2=min ->", tr.Combined())
	tr.UpdateID(s2, at(8))
	fmt.Println("s1=10 s2=8   ->", tr.Combined().Time().Unix())
	tr.UpdateID(s2, at(12))
	fmt.Println("s1=10 s2=12  ->", tr.Combined().Time().Unix())
	tr.UpdateID(s1, at(5)) // a regression: ignored and counted
	fmt.Println("regressions:", tr.Regressions())
	fmt.Println("7s late?", tr.IsLate(int64(7*time.Second)), "9s late?", tr.IsLate(int64(9*time.Second)))

	// The runtime calls Tick periodically. source-2 goes silent: one idle
	// timeout later it stops holding the combined watermark back.
	tr.Tick()
	clock.Advance(time.Minute)
	tr.UpdateID(s1, at(30))
	tr.Tick()
	fmt.Println("s2 idle      ->", tr.Combined().Time().Unix(), tr.State(s2))
	// Output:
	// s1=10 s2=min -> min
	// s1=10 s2=8   -> 8
	// s1=10 s2=12  -> 10
	// regressions: 1
	// 7s late? true 9s late? false
	// s2 idle      -> 30 idle
}

func ExampleGenerator() {
	g := watermark.NewGenerator(watermark.BoundedOutOfOrderness(5))
	for _, t := range []int64{100, 103, 98, watermark.NoEventTime} {
		obs := g.Observe(t)
		fmt.Println(t == watermark.NoEventTime, obs.Verdict, int64(g.Current()))
	}
	// Output:
	// false accepted 94
	// false accepted 97
	// false accepted 97
	// true dead_letter 97
}

type event struct {
	name string
	at   int64
}

func ExampleMerger() {
	m, err := watermark.NewMerger(watermark.MergerConfig[event]{
		Strategy:  watermark.EventTime,
		EventTime: func(e event) int64 { return e.at },
		OnLate:    func(_ watermark.InputID, e event) { fmt.Println("late:", e.name) },
	})
	if err != nil {
		panic(err)
	}
	clicks := m.AddInput("clicks", watermark.InputConfig{Generator: watermark.BoundedOutOfOrderness(10)})
	views := m.AddInput("views", watermark.InputConfig{Generator: watermark.BoundedOutOfOrderness(10)})

	m.Push(clicks, event{"click@20", 20})
	m.Push(views, event{"view@15", 15})
	m.Push(clicks, event{"click@40", 40})
	m.Push(views, event{"view@35", 35}) // watermarks: clicks 29, views 24
	fmt.Println("watermark:", int64(m.Watermark()))
	for _, e := range m.Drain(nil) {
		fmt.Println("emit:", e.name)
	}
	m.Push(views, event{"view@10", 10}) // behind the watermark

	m.Close(clicks)
	m.Close(views) // end of input flushes the rest in order
	for _, e := range m.Drain(nil) {
		fmt.Println("emit:", e.name)
	}
	// Output:
	// watermark: 24
	// emit: view@15
	// emit: click@20
	// late: view@10
	// emit: view@35
	// emit: click@40
}
