// Package engine loads, validates and runs conveyor-wasm pipelines.
//
// A pipeline is a DAG: sources produce records, stages (filter, metadata,
// transform, fan_out, fan_in, sink) process them, and edges — each with an
// optional condition — connect them. Load reads a pipeline file (YAML or
// JSON) strictly: every problem (unknown keys, type errors, unknown stages,
// cycles, unreachable stages, CEL errors) is reported at once as
// file:line:col: message. Compile builds the routing plan once; conditions
// are compiled then, never per record.
//
// RoutingEngine.Route answers the seed's question — where does this record
// go next? — from that plan. Runner executes a pipeline: records move in
// batches over bounded queues (backpressure), stages with replicas run
// concurrently with a load balancing strategy, and every record read ends
// exactly one way (delivered, filtered, dropped or dead-lettered), which
// the Summary accounts for. Records the pipeline cannot handle go to the
// dead-letter sink with the reason, the stage and the origin.
package engine
