package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// buildGenerator builds a generate source through the registry from the
// defaults changed by mod.
func buildGenerator(t testing.TB, mod func(*GenerateConfig), env Env) Source {
	t.Helper()
	spec, ok := Lookup(KindSource, "generate")
	if !ok {
		t.Fatal("generate source not registered")
	}
	c := spec.NewConfig().(*GenerateConfig)
	if mod != nil {
		mod(c)
	}
	if err := spec.Check(c); err != nil {
		t.Fatalf("Check: %v", err)
	}
	src, err := BuildSource(spec, c, env)
	if err != nil {
		t.Fatalf("BuildSource: %v", err)
	}
	return src
}

func generate(t testing.TB, mod func(*GenerateConfig), env Env) *collector {
	t.Helper()
	src := buildGenerator(t, mod, env)
	var c collector
	if err := src.Read(context.Background(), &c); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return &c
}

type genEvent struct {
	ID     int64   `json:"id"`
	UserID string  `json:"user_id"`
	Type   string  `json:"type"`
	Active *bool   `json:"active"`
	Amount float64 `json:"amount"`
	TS     int64   `json:"ts"`
	Pad    string  `json:"pad"`
}

func decodeEvent(t testing.TB, r *record.Record) genEvent {
	t.Helper()
	var e genEvent
	dec := json.NewDecoder(strings.NewReader(string(r.Payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("payload %s: %v", r.Payload, err)
	}
	return e
}

func TestGenerate_Read_Count(t *testing.T) {
	tests := []struct {
		count, batch int
		wantBatches  []int
	}{
		{2500, 1000, []int{1000, 1000, 500}},
		{3, 1000, []int{3}},
		{4, 2, []int{2, 2}},
		{1, 0, []int{1}}, // default batch size
		{2049, 0, []int{1024, 1024, 1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.count, tt.batch), func(t *testing.T) {
			c := generate(t, func(c *GenerateConfig) { c.Count = int64(tt.count) }, Env{BatchSize: tt.batch, Name: "gen"})
			var sizes []int
			for _, b := range c.batches {
				sizes = append(sizes, len(b))
			}
			if !slices.Equal(sizes, tt.wantBatches) {
				t.Fatalf("batch sizes = %v, want %v", sizes, tt.wantBatches)
			}
			for i, r := range c.records() {
				e := decodeEvent(t, r)
				if e.ID != int64(i) || r.Ack == nil || r.Ack.Seq != int64(i+1) {
					t.Fatalf("record %d: id %d, Ack %+v; want id %d, Seq %d", i, e.ID, r.Ack, i, i+1)
				}
				if r.Source != "gen" {
					t.Fatalf("record %d: Source %q, want gen", i, r.Source)
				}
				if !slices.Contains(eventTypes[:], e.Type) || e.Active == nil || e.Amount < 0 || e.Amount >= 1000 {
					t.Fatalf("record %d: implausible event %+v", i, e)
				}
			}
		})
	}
}

func TestGenerate_Read_Deterministic(t *testing.T) {
	run := func(seed uint64) []string {
		c := generate(t, func(c *GenerateConfig) {
			c.Count, c.Seed, c.Start, c.Disorder = 500, seed, "2024-05-01T12:00:00Z", time.Second
		}, Env{BatchSize: 64})
		var out []string
		for _, r := range c.records() {
			out = append(out, fmt.Sprintf("%s %d %s", r.Key, r.EventTime, r.Payload))
		}
		return out
	}
	a, b, other := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different records")
	}
	if slices.Equal(a, other) {
		t.Fatal("different seeds gave the same records")
	}
}

func TestGenerate_Read_EventTimes(t *testing.T) {
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		step     time.Duration
		disorder time.Duration
	}{
		{"in order", time.Second, 0},
		{"default step", 0, 0}, // 0 here keeps the default 1ms
		{"disorder", 10 * time.Millisecond, 500 * time.Millisecond},
		{"disorder smaller than step", time.Second, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := tt.step
			c := generate(t, func(c *GenerateConfig) {
				c.Count, c.Start, c.Disorder = 1000, start.Format(time.RFC3339), tt.disorder
				if tt.step != 0 {
					c.Step = tt.step
				}
				step = c.Step
			}, Env{})
			moved := 0
			for i, r := range c.records() {
				ideal := start.Add(time.Duration(i) * step).UnixNano()
				// Disorder moves a record back by [0, disorder).
				lo := ideal - max(int64(tt.disorder)-1, 0)
				if r.EventTime > ideal || r.EventTime < lo {
					t.Fatalf("record %d: event time %v, want in [%v, %v]", i, r.Time(), time.Unix(0, lo).UTC(), time.Unix(0, ideal).UTC())
				}
				if r.EventTime != ideal {
					moved++
				}
				if e := decodeEvent(t, r); e.TS != r.EventTime/int64(time.Millisecond) {
					t.Fatalf("record %d: ts %d, want %d", i, e.TS, r.EventTime/int64(time.Millisecond))
				}
			}
			if tt.disorder > 0 && moved < 900 {
				t.Fatalf("only %d of 1000 records were moved back by disorder", moved)
			}
		})
	}
}

func TestGenerate_Read_DefaultStartIsNow(t *testing.T) {
	before := time.Now()
	c := generate(t, func(c *GenerateConfig) { c.Count = 1 }, Env{})
	after := time.Now()
	got := c.records()[0].Time()
	if got.Before(before) || got.After(after) {
		t.Fatalf("first event time %v, want between %v and %v", got, before, after)
	}
}

func TestGenerate_Read_PayloadBytes(t *testing.T) {
	tests := []struct {
		size    int
		minSize int
		maxSize int
	}{
		// About as big as the bare event (~95 bytes): padding is added
		// only when it fits, so the size is approximate.
		{100, 90, 110},
		{256, 256, 256},
		{4096, 4096, 4096},
		// Too small for padding: the bare event, still valid JSON.
		{0, 70, 110},
		{10, 70, 110},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			c := generate(t, func(c *GenerateConfig) { c.Count, c.PayloadBytes = 200, tt.size }, Env{})
			for i, r := range c.records() {
				if n := len(r.Payload); n < tt.minSize || n > tt.maxSize {
					t.Fatalf("record %d: %d bytes, want %d..%d: %s", i, n, tt.minSize, tt.maxSize, r.Payload)
				}
				e := decodeEvent(t, r)
				if strings.Trim(e.Pad, "x") != "" {
					t.Fatalf("record %d: pad %q", i, e.Pad)
				}
			}
		})
	}
}

func TestGenerate_Read_Keys(t *testing.T) {
	for _, keys := range []int{1, 5, 50} {
		t.Run(fmt.Sprint(keys), func(t *testing.T) {
			c := generate(t, func(c *GenerateConfig) { c.Count, c.Keys = 2000, keys }, Env{})
			seen := map[string]bool{}
			for i, r := range c.records() {
				var n int
				if _, err := fmt.Sscanf(r.Key, "u%d", &n); err != nil || n < 0 || n >= keys || r.Key != fmt.Sprintf("u%d", n) {
					t.Fatalf("record %d: key %q outside u0..u%d", i, r.Key, keys-1)
				}
				if e := decodeEvent(t, r); e.UserID != r.Key {
					t.Fatalf("record %d: user_id %q != key %q", i, e.UserID, r.Key)
				}
				seen[r.Key] = true
			}
			if len(seen) != keys {
				t.Fatalf("%d distinct keys in 2000 records, want %d", len(seen), keys)
			}
		})
	}
}

func TestGenerate_Read_Rate(t *testing.T) {
	// Only that a rated source terminates with the count: no timing
	// assertions in unit tests.
	tests := []struct {
		rate  float64
		count int64
	}{
		{5000, 300},
		{1e9, 3000},
		{50, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rate), func(t *testing.T) {
			c := generate(t, func(c *GenerateConfig) { c.Rate, c.Count = tt.rate, tt.count }, Env{BatchSize: 100})
			recs := c.records()
			if int64(len(recs)) != tt.count {
				t.Fatalf("%d records, want %d", len(recs), tt.count)
			}
			for i, r := range recs {
				if r.Ack.Seq != int64(i+1) {
					t.Fatalf("record %d: Seq %d", i, r.Ack.Seq)
				}
			}
		})
	}
}

func TestGenerate_Read_ContextCancel(t *testing.T) {
	tests := []struct {
		name      string
		rate      float64
		ignoreCtx bool
	}{
		{"unbounded", 0, false},
		{"unbounded, emitter ignores ctx", 0, true},
		{"rated", 1e6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := buildGenerator(t, func(c *GenerateConfig) { c.Count, c.Rate = 0, tt.rate }, Env{BatchSize: 10})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := collector{ignoreCtx: tt.ignoreCtx, afterEmit: func(c *collector) {
				if len(c.batches) == 3 {
					cancel()
				}
			}}
			if err := src.Read(ctx, &c); !errors.Is(err, context.Canceled) {
				t.Fatalf("Read = %v, want context.Canceled", err)
			}
			if len(c.batches) != 3 {
				t.Fatalf("%d batches, want 3", len(c.batches))
			}
		})
	}
}

func TestGenerateConfig_Check(t *testing.T) {
	spec, _ := Lookup(KindSource, "generate")
	tests := []struct {
		name    string
		mod     func(*GenerateConfig)
		wantErr string
	}{
		{"defaults", func(*GenerateConfig) {}, ""},
		{"start", func(c *GenerateConfig) { c.Start = "2024-01-01T00:00:00.5+02:00" }, ""},
		{"zero keys", func(c *GenerateConfig) { c.Keys = 0 }, "keys must be positive"},
		{"bad start", func(c *GenerateConfig) { c.Start = "yesterday" }, "start:"},
		{"negative count", func(c *GenerateConfig) { c.Count = -1 }, "count must not be negative"},
		{"negative rate", func(c *GenerateConfig) { c.Rate = -5 }, "rate must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := spec.NewConfig().(*GenerateConfig)
			tt.mod(c)
			checkErr := spec.Check(c)
			_, buildErr := BuildSource(spec, c, Env{Name: "g"})
			for _, err := range []error{checkErr, buildErr} {
				if tt.wantErr == "" && err != nil {
					t.Fatalf("error = %v, want nil", err)
				}
				if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
			}
		})
	}
}

func BenchmarkGenerate_Read(b *testing.B) {
	const n = 100_000
	src := buildGenerator(b, func(c *GenerateConfig) { c.Count = n }, Env{})
	b.ReportAllocs()
	for b.Loop() {
		var c countingEmitter
		if err := src.Read(context.Background(), &c); err != nil || c.n != n {
			b.Fatalf("Read: %d records, %v", c.n, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
