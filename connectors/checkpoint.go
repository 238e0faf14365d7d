package connectors

import (
	"context"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// Checkpoints is where a source keeps its resume position across runs:
// one opaque value per source of a pipeline. The engine hands it to a
// source in Env.Checkpoints when the run has a state directory; nil means
// the run keeps no checkpoints. A source saves only positions whose
// records were all acknowledged (see record.AckGroup): after a crash, a
// rerun resumes there, so records are delivered at least once.
type Checkpoints interface {
	// Load returns the source's last saved state, or nil when there is
	// none (or the run was asked to start from the beginning).
	Load() ([]byte, error)
	// Save replaces the source's state durably (it has reached the disk
	// when Save returns).
	Save(state []byte) error
}

// RecordRejecter is an optional interface of an Emitter: Reject for a
// source that tracks acknowledgements. The engine dead-letters rec (its
// payload is the raw input, Origin says where it was read) with err as
// the reason, and ends rec.Ack like any record's: a source that set its
// own group with rec.Ack.Init learns when the dead letter is durable.
type RecordRejecter interface {
	RejectRecord(ctx context.Context, rec *record.Record, err error) error
}
