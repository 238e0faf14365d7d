package connectors

import (
	"context"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// PartitionEmitter is an optional interface of an Emitter, for sources
// that read several partitions (Kafka partitions, JetStream subjects, the
// files of a glob read in parallel): each partition is its own input of
// the pipeline's watermark, so a partition that lags holds the combined
// watermark back instead of having its records judged late against a
// faster one.
type PartitionEmitter interface {
	// EmitPartition is Emit for the records of one partition.
	EmitPartition(ctx context.Context, partition string, batch []*record.Record) error
	// EndPartition says a partition will send nothing more (it was revoked,
	// or read to its end): it no longer holds the watermark back.
	EndPartition(partition string)
}
