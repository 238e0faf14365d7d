package watermark

import (
	"math"
	"testing"
	"time"
)

func TestWatermark_String(t *testing.T) {
	tests := []struct {
		name string
		w    Watermark
		want string
	}{
		{"min", Min, "min"},
		{"max", Max, "max"},
		{"epoch", 0, "1970-01-01T00:00:00Z"},
		{"nanos", Watermark(1_700_000_000_123_456_789), "2023-11-14T22:13:20.123456789Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWatermark_GoString(t *testing.T) {
	tests := []struct {
		w    Watermark
		want string
	}{
		{Min, "watermark.Min"},
		{Max, "watermark.Max"},
		{-5, "watermark.Watermark(-5)"},
	}
	for _, tt := range tests {
		if got := tt.w.GoString(); got != tt.want {
			t.Errorf("GoString(%d) = %q, want %q", int64(tt.w), got, tt.want)
		}
	}
}

func TestWatermark_Time_RoundTrip(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	w := FromTime(at)
	if !w.Time().Equal(at) {
		t.Errorf("Time() = %v, want %v", w.Time(), at)
	}
	if !Min.Time().IsZero() {
		t.Errorf("Min.Time() = %v, want zero", Min.Time())
	}
}

func TestWatermark_Sub_Saturates(t *testing.T) {
	tests := []struct {
		name string
		a    Watermark
		d    int64
		want Watermark
	}{
		{"plain", 100, 30, 70},
		{"min stays", Min, 5, Min},
		{"max stays", Max, 5, Max},
		{"underflow", Watermark(math.MinInt64 + 3), 10, Min},
		{"negative overflow", Watermark(math.MaxInt64 - 3), -10, Max},
		{"negative", 100, -5, 105},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sub(tt.a, tt.d); got != tt.want {
				t.Errorf("sub(%#v, %d) = %#v, want %#v", tt.a, tt.d, got, tt.want)
			}
		})
	}
}

func TestManualClock_Advance(t *testing.T) {
	c := NewManualClock(time.Unix(10, 0))
	c.Advance(time.Second)
	if got := c.Now(); !got.Equal(time.Unix(11, 0)) {
		t.Errorf("Now() = %v after Advance, want 11s", got)
	}
	c.Set(time.Unix(3, 0))
	if got := c.Now(); !got.Equal(time.Unix(3, 0)) {
		t.Errorf("Now() = %v after Set, want 3s", got)
	}
	f := ClockFunc(func() time.Time { return time.Unix(7, 0) })
	if !f.Now().Equal(time.Unix(7, 0)) {
		t.Errorf("ClockFunc.Now() = %v", f.Now())
	}
	if SystemClock.Now(SystemClock{}).IsZero() {
		t.Error("SystemClock.Now() is zero")
	}
}
