// Package report is the JSON shape of a run summary: the final summary and
// the progress records of `run --log-format json`, and /api/stats of
// `run --http`.
package report

import (
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine"
)

// Summary is engine.Summary with JSON names, seconds for durations, and
// watermark lags that are never negative.
type Summary struct {
	In             int64      `json:"in"`
	Delivered      int64      `json:"delivered"`
	Filtered       int64      `json:"filtered"`
	Dropped        int64      `json:"dropped"`
	DeadLettered   int64      `json:"dead_lettered"`
	Unprocessed    int64      `json:"unprocessed"`
	InFlight       int64      `json:"in_flight"`
	Late           int64      `json:"late"`
	Balanced       bool       `json:"balanced"`
	Stopped        bool       `json:"stopped"`
	ElapsedSeconds float64    `json:"elapsed_seconds"`
	Watermark      *time.Time `json:"watermark,omitempty"`
	Sources        []Source   `json:"sources,omitempty"`
	Stages         []Stage    `json:"stages"`
	Edges          []Edge     `json:"edges"`
	Sinks          []Sink     `json:"sinks"`
	DeadLetters    Sink       `json:"dead_letters"`
}

// Source is an event-time source's progress. LagSeconds is how far its
// watermark is behind the wall clock, AheadSeconds how far ahead (a
// generator's event times, clock skew): one of them is 0.
type Source struct {
	Source       string     `json:"source"`
	State        string     `json:"state"`
	Watermark    *time.Time `json:"watermark,omitempty"`
	LagSeconds   float64    `json:"lag_seconds"`
	AheadSeconds float64    `json:"ahead_seconds,omitempty"`
}

// Stage is one stage's or source's traffic.
type Stage struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	In          int64  `json:"in"`
	Out         int64  `json:"out"`
	QueueDepth  int    `json:"queue_depth"`
	Busy        int    `json:"busy"`
	Parallelism int    `json:"parallelism"`
}

// Edge counts the records that crossed an edge.
type Edge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Late    bool   `json:"late,omitempty"`
	Records int64  `json:"records"`
}

// Sink counts what a sink service wrote (flushed).
type Sink struct {
	Name    string `json:"name"`
	Written int64  `json:"written"`
	Lost    int64  `json:"lost,omitempty"`
	Errors  int64  `json:"errors"`
}

// FromSummary converts s, taken at now.
func FromSummary(s engine.Summary, now time.Time) Summary {
	out := Summary{
		In: s.In, Delivered: s.Delivered, Filtered: s.Filtered, Dropped: s.Dropped, DeadLettered: s.DeadLettered,
		Unprocessed: s.Unprocessed, InFlight: s.InFlight, Late: s.Late, Balanced: s.Balanced(), Stopped: s.Stopped,
		ElapsedSeconds: s.Elapsed.Seconds(), Watermark: timePtr(s.Watermark),
		Stages: []Stage{}, Edges: []Edge{}, Sinks: []Sink{},
		DeadLetters: Sink(s.DeadLetters),
	}
	for _, src := range s.Sources {
		out.Sources = append(out.Sources, SourceOf(src, now))
	}
	for _, st := range s.Stages {
		out.Stages = append(out.Stages, Stage(st))
	}
	for _, e := range s.Edges {
		out.Edges = append(out.Edges, Edge(e))
	}
	for _, sk := range s.Sinks {
		out.Sinks = append(out.Sinks, Sink(sk))
	}
	return out
}

// SourceOf converts one source's progress; its lag is measured at now
// (not taken from the engine, which reports a source ahead of the clock
// with a negative lag).
func SourceOf(src engine.SourceProgress, now time.Time) Source {
	o := Source{Source: src.Source, State: src.State, Watermark: timePtr(src.Watermark)}
	if !src.Watermark.IsZero() {
		if d := now.Sub(src.Watermark); d >= 0 {
			o.LagSeconds = d.Seconds()
		} else {
			o.AheadSeconds = -d.Seconds()
		}
	}
	return o
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
