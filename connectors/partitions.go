package connectors

import (
	"context"
	"time"

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
	// IdlePartition says a partition has nothing to send for now (no
	// message within the broker's poll, a consumer told so): it stops
	// holding the watermark back until it sends again (see
	// WatermarkEmitter.MarkIdle, which marks the whole source).
	IdlePartition(ctx context.Context, partition string) error
}

// WatermarkEmitter is an optional interface of an Emitter, for sources that
// know how far their input has progressed when they have no record to show
// for it: a broker's heartbeat or high-water mark for an idle partition, a
// test case's watermark mark. EmitWatermark says that no record with an
// event time before t will follow from this source: its watermark rises to
// t (it never goes back) and travels downstream at once, so a merge waiting
// on this source moves on. A source without event time ignores it.
//
// MarkIdle says the source has nothing to send for now (an empty
// partition, a broker's idle signal, a test case's idle mark): it stops
// holding the watermark back, in the pipeline's tracker and at every merge
// downstream, until it emits again. It is what the idle timeout does, at
// once and for this source alone.
type WatermarkEmitter interface {
	EmitWatermark(ctx context.Context, t time.Time) error
	MarkIdle(ctx context.Context) error
}
