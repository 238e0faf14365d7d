package connectors

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// GenerateConfig configures the `generate` source: synthetic user events for
// demos, tests and benchmarks.
type GenerateConfig struct {
	Count        int64         `yaml:"count" doc:"records to generate; 0 means until the pipeline is stopped" example:"100000"`
	Rate         float64       `yaml:"rate" doc:"records per second; 0 means as fast as the pipeline takes them" example:"5000"`
	Keys         int           `yaml:"keys" doc:"number of distinct keys (user ids)" example:"50"`
	PayloadBytes int           `yaml:"payload_bytes" doc:"approximate payload size; padding is added to reach it" example:"512"`
	Seed         uint64        `yaml:"seed" doc:"random seed; the same seed gives the same records" example:"42"`
	Start        string        `yaml:"start" doc:"event time of the first record (RFC 3339); default: the wall clock at start" example:"2024-01-01T00:00:00Z"`
	Step         time.Duration `yaml:"step" doc:"event-time distance between consecutive records" example:"10ms"`
	Disorder     time.Duration `yaml:"disorder" doc:"records' event times are moved back by a random amount up to this (out-of-order data)" example:"2s"`
}

func init() {
	Register(Spec{
		Type:    "generate",
		Kind:    KindSource,
		Summary: `Generates synthetic events {"id","user_id","type","active","amount","ts","pad"} at a rate or a count.`,
		NewConfig: func() any {
			return &GenerateConfig{Keys: 1000, PayloadBytes: 100, Seed: 1, Step: time.Millisecond}
		},
		Check: func(cfg any) error { _, err := cfg.(*GenerateConfig).start(); return err },
		Build: func(cfg any, env Env) (any, error) {
			c := cfg.(*GenerateConfig)
			st, err := c.start()
			if err != nil {
				return nil, err
			}
			if env.BatchSize <= 0 {
				env.BatchSize = 1024
			}
			return &generator{cfg: c, env: env, start: st}, nil
		},
	})
}

func (c *GenerateConfig) start() (time.Time, error) {
	if c.Count < 0 {
		return time.Time{}, keyErrorf("count", "count must not be negative, got %d", c.Count)
	}
	if c.Rate < 0 {
		return time.Time{}, keyErrorf("rate", "rate must not be negative, got %g", c.Rate)
	}
	if c.Keys <= 0 {
		return time.Time{}, keyErrorf("keys", "keys must be positive, got %d", c.Keys)
	}
	if c.Start == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, c.Start)
	if err != nil {
		return time.Time{}, keyErrorf("start", "start: %w", err)
	}
	return t, nil
}

type generator struct {
	cfg   *GenerateConfig
	env   Env
	start time.Time
}

func (g *generator) Close() error { return nil }

var eventTypes = [...]string{"user_event", "click", "view", "purchase"}

func (g *generator) Read(ctx context.Context, out Emitter) error {
	rng := rand.New(rand.NewPCG(g.cfg.Seed, g.cfg.Seed^0x9e3779b97f4a7c15))
	bs := g.env.BatchSize
	var tick *time.Ticker
	perTick := int64(bs)
	if g.cfg.Rate > 0 {
		// Emit in slices of at most 100 ms worth of records.
		perTick = max(1, min(int64(bs), int64(g.cfg.Rate/10)))
		tick = time.NewTicker(time.Duration(float64(time.Second) * float64(perTick) / g.cfg.Rate))
		defer tick.Stop()
	}
	base := g.start.UnixNano()
	step := int64(g.cfg.Step)
	var n int64
	for g.cfg.Count == 0 || n < g.cfg.Count {
		if tick != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		m := perTick
		if g.cfg.Count > 0 {
			m = min(m, g.cfg.Count-n)
		}
		slab := make([]record.Record, m)
		acks := make([]record.Ack, m)
		batch := make([]*record.Record, m)
		for i := range slab {
			id := n + int64(i)
			et := base + id*step
			if g.cfg.Disorder > 0 {
				et -= rng.Int64N(int64(g.cfg.Disorder))
			}
			user := rng.IntN(g.cfg.Keys)
			r := &slab[i]
			r.Key = "u" + strconv.Itoa(user)
			r.Payload = g.payload(rng, id, user, et)
			r.MarkValidJSON()
			r.EventTime = et
			r.Source = g.env.Name
			acks[i].Seq = id + 1
			r.Ack = &acks[i]
			batch[i] = r
		}
		n += m
		if err := out.Emit(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) payload(rng *rand.Rand, id int64, user int, et int64) []byte {
	b := make([]byte, 0, g.cfg.PayloadBytes+16)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"user_id":"u`...)
	b = strconv.AppendInt(b, int64(user), 10)
	b = append(b, `","type":"`...)
	b = append(b, eventTypes[rng.IntN(len(eventTypes))]...)
	b = append(b, `","active":`...)
	b = strconv.AppendBool(b, rng.IntN(2) == 0)
	b = append(b, `,"amount":`...)
	b = strconv.AppendFloat(b, float64(rng.IntN(100000))/100, 'f', -1, 64)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, et/int64(time.Millisecond), 10)
	if pad := g.cfg.PayloadBytes - len(b) - 10; pad > 0 {
		b = append(b, `,"pad":"`...)
		for range pad {
			b = append(b, 'x')
		}
		b = append(b, '"')
	}
	return append(b, '}')
}
