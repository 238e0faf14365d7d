package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine"
)

func TestFromSummary_JSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := engine.Summary{
		In: 10, Delivered: 7, Filtered: 2, DeadLettered: 1, Elapsed: 1500 * time.Millisecond,
		Watermark: now.Add(-time.Second),
		Sources: []engine.SourceProgress{
			{Source: "behind", Watermark: now.Add(-2 * time.Second), Lag: 2 * time.Second, State: "active"},
			{Source: "ahead", Watermark: now.Add(54300 * time.Millisecond), Lag: -54300 * time.Millisecond, State: "active"},
			{Source: "new", State: "active"},
		},
		Stages:      []engine.StageStats{{ID: "f", Type: "filter", In: 10, Out: 8, Parallelism: 4}},
		Edges:       []engine.EdgeStats{{From: "in", To: "f", Records: 10}, {From: "in", To: "late", Late: true}},
		Sinks:       []engine.SinkStats{{Name: "out", Written: 9}},
		DeadLetters: engine.SinkStats{Name: "dl", Written: 1},
	}
	b, err := json.Marshal(FromSummary(s, now))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"in":10,"delivered":7,"filtered":2,"dropped":0,"dead_lettered":1,"unprocessed":0,"in_flight":0,"late":0,"balanced":true,"stopped":false,"elapsed_seconds":1.5,"watermark":"2026-01-02T03:04:04Z"`,
		`{"source":"behind","state":"active","watermark":"2026-01-02T03:04:03Z","lag_seconds":2}`,
		`{"source":"ahead","state":"active","watermark":"2026-01-02T03:04:59.3Z","lag_seconds":0,"ahead_seconds":54.3}`,
		`{"source":"new","state":"active","lag_seconds":0}`,
		`"stages":[{"id":"f","type":"filter","in":10,"out":8,"queue_depth":0,"busy":0,"parallelism":4}]`,
		`"edges":[{"from":"in","to":"f","records":10},{"from":"in","to":"late","late":true,"records":0}]`,
		`"sinks":[{"name":"out","written":9,"errors":0}],"dead_letters":{"name":"dl","written":1,"errors":0}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %s\nin %s", want, b)
		}
	}
}
