package engine

// Started reports whether Run has been called.
func (r *Runner) Started() bool { return r.start.Load() != 0 }

// Draining reports whether the run has been asked to stop (Drain, or its
// context cancelled): its sources stop reading while what is in flight
// drains.
func (r *Runner) Draining() bool {
	select {
	case <-r.drain:
		return true
	default:
		return r.stopped.Load()
	}
}

// Ready reports whether the run is taking records: it has started (its
// sources and sinks were opened by NewRunner) and is not draining. A
// readiness probe (`/readyz` of `run --http`) answers with it.
func (r *Runner) Ready() bool { return r.Started() && !r.Draining() }
