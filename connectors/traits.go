package connectors

// Truncater is an optional interface of a sink config: whether the sink
// empties its output when it opens (a file sink without append). The
// engine will not resume an interrupted run from checkpoints into such a
// sink: it would erase what the interrupted run wrote.
type Truncater interface{ Truncates() bool }

// Endless is an optional interface of a source config: whether the source
// reads until it is stopped (a file in follow mode) rather than to an end.
// The checkpoints of a run whose sources all ended are cleared; an endless
// source keeps its position for the next run.
type Endless interface{ Endless() bool }

// Truncates implements Truncater.
func (c *FileSinkConfig) Truncates() bool { return !c.Append }

// Endless implements Endless.
func (c *FileSourceConfig) Endless() bool { return c.Follow }

var (
	_ Truncater = (*FileSinkConfig)(nil)
	_ Endless   = (*FileSourceConfig)(nil)
)
