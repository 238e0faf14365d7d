package watermark

import (
	"testing"
	"time"
)

// FuzzMerger_Ops interprets the input as a sequence of merger operations on
// up to four inputs and checks the merge invariants after every step: sorted
// output, nothing emitted ahead of the watermark, every item exactly once
// (emitted or late), and a full flush at the end.
func FuzzMerger_Ops(f *testing.F) {
	f.Add([]byte{0, 10, 4, 20, 1, 2, 8, 3, 0, 5})
	f.Add([]byte{0, 255, 0, 0, 0, 1, 4, 7, 9, 2, 3, 6, 1})
	f.Add([]byte{0x40, 1, 0x80, 2, 0xC0, 3, 5, 1, 0x11, 200, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) < 2 {
			return
		}
		hdr := ops[0]
		ops = ops[1:]
		clk := NewManualClock(time.Unix(0, 0))
		lateness := int64(hdr & 7)
		emittedOrLate := map[int]bool{}
		var m *Merger[item]
		m, err := NewMerger(MergerConfig[item]{
			Combine:         Combine(hdr >> 7),
			AllowedLateness: time.Duration(lateness),
			IdleTimeout:     3 * time.Second,
			AllIdle:         AllIdle((hdr >> 6) & 1),
			Clock:           clk,
			EventTime:       itemTime,
			OnLate: func(_ InputID, it item) {
				if Watermark(it.t) >= sub(m.Watermark(), lateness) || emittedOrLate[it.id] {
					t.Fatalf("bad late item %v at watermark %d", it, m.Watermark())
				}
				emittedOrLate[it.id] = true
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		const n = 4
		base := [n]int64{}
		for i := range n {
			m.AddInput(string(rune('a'+i)), InputConfig{Capacity: 1 + i*3, Generator: BoundedOutOfOrderness(time.Duration(i * 4))})
		}
		taken := 0
		var lastT int64 = -1 << 62
		drain := func() {
			w := m.Watermark()
			for _, it := range m.Drain(nil) {
				if Watermark(it.t) > w || it.t < lastT || emittedOrLate[it.id] {
					t.Fatalf("bad emit %v (watermark %d, last %d)", it, w, lastT)
				}
				emittedOrLate[it.id] = true
				lastT = it.t
			}
		}
		for i, op := range ops {
			in := InputID(op & 3)
			switch (op >> 2) & 3 {
			case 0, 1: // push, time delta from the high bits (may go back)
				if m.inputs[in].closed {
					continue
				}
				if m.Full(in) {
					drain()
					continue
				}
				base[in] += int64(op>>4) - 4
				if st := m.Push(in, item{id: i, in: int(in), t: base[in]}); st.Taken() {
					taken++
				} else if st != Overflow {
					t.Fatalf("Push = %v", st)
				}
			case 2:
				drain()
			case 3:
				if op&0x80 != 0 {
					m.Close(in)
				} else {
					clk.Advance(time.Duration(op>>4) * time.Second)
					m.Tick()
				}
			}
		}
		for i := range n {
			m.Close(InputID(i))
		}
		drain()
		if len(emittedOrLate) != taken || !m.Done() {
			t.Fatalf("%d of %d items accounted for, Done = %v", len(emittedOrLate), taken, m.Done())
		}
	})
}
