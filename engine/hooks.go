package engine

import "time"

// Observer is told what a run does, per stage and per edge: the hook that
// metrics (Prometheus, in its own package), live views and tests attach
// to. The engine imports no metrics library.
//
// Calls come from the run's goroutines concurrently: an Observer must be
// safe for concurrent use and cheap. Each method is called once per batch,
// never per record. Gauges (queue depths, workers busy, watermarks) are not
// pushed: read them from Runner.Summary whenever they are scraped.
type Observer interface {
	// StageBatch reports that stage processed a batch of in records into
	// out records in took. Sources report read batches with in == out.
	StageBatch(stage string, in, out int, took time.Duration)
	// EdgeRecords reports that n records crossed the edge from -> to.
	EdgeRecords(from, to string, n int)
	// DeadLetters reports that n records were dead-lettered at stage, for a
	// reason of the given kind: the kind of stage (filter, lookup, sink,
	// transform, ...), or source, condition, unmatched, late, event_time.
	DeadLetters(stage, kind string, n int)
	// SinkWrite reports a write of n records to a sink service, how long
	// it took, and its error (nil: written).
	SinkWrite(sink string, n int, took time.Duration, err error)
}

// NopObserver is an Observer that ignores everything; embed it to
// implement only some methods.
type NopObserver struct{}

// StageBatch implements Observer.
func (NopObserver) StageBatch(string, int, int, time.Duration) {}

// EdgeRecords implements Observer.
func (NopObserver) EdgeRecords(string, string, int) {}

// DeadLetters implements Observer.
func (NopObserver) DeadLetters(string, string, int) {}

// SinkWrite implements Observer.
func (NopObserver) SinkWrite(string, int, time.Duration, error) {}

var _ Observer = NopObserver{}
