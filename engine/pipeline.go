package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"go.yaml.in/yaml/v3"
)

// Position is a place in a pipeline file.
type Position = decode.Pos

// Pipeline is a pipeline definition: sources, stages, the edges between them
// and the services stages refer to. It is what a pipeline file decodes to;
// Compile turns it into a runnable plan.
type Pipeline struct {
	At          Position           `yaml:"-"`
	ID          string             `yaml:"id,required" doc:"pipeline identifier" example:"orders"`
	Name        string             `yaml:"name" doc:"human-readable name" example:"Orders enrichment"`
	Description string             `yaml:"description" doc:"free text" example:"enriches orders with customer data"`
	Settings    Settings           `yaml:"settings" doc:"runtime settings" example:"{batch_size: 512}"`
	Sources     []Source           `yaml:"sources" doc:"where records come from; each source's name can start edges, as can the special node 'source' (every source)" example:"[{name: orders, type: file, path: orders.jsonl}]"`
	Services    map[string]Service `yaml:"services" doc:"named sinks and plugins that stages refer to by service_name" example:"{out: {type: stdout}}"`
	Stages      []Stage            `yaml:"stages" doc:"the DAG's nodes" example:"[{id: sink, type: sink, service_name: out}]"`
	Edges       []Edge             `yaml:"edges" doc:"the DAG's edges, each with an optional condition" example:"[{from: orders, to: sink}]"`
	// Tests are test cases for `conveyor-wasm test`, kept in the pipeline
	// file; a run ignores them.
	Tests Value `yaml:"tests" doc:"test cases for conveyor-wasm test, in the form of a test file's cases (name, inputs or steps, expect, dead_letters); run and validate ignore them" example:"[{name: smoke, inputs: {orders: [{payload: {id: 1}}]}, expect: {out: {count: 1}}}]"`

	// File is the path the pipeline was read from ("" when built in Go).
	File string `yaml:"-"`
	// text is the file's contents, for exact positions in CEL errors.
	text []byte
}

// Settings are pipeline-wide runtime settings.
type Settings struct {
	At         Position `yaml:"-"`
	BatchSize  int      `yaml:"batch_size" doc:"records per batch moved between stages" example:"512"`
	QueueDepth int      `yaml:"queue_depth" doc:"batches buffered in front of each stage; a full queue blocks the stages feeding it (backpressure)" example:"8"`
	// Unmatched says what happens to a record no outgoing edge of a
	// (non-sink) stage accepts.
	Unmatched UnmatchedPolicy `yaml:"unmatched" doc:"what happens to a record that no outgoing edge accepts: drop, dead_letter or error (stop the run)" example:"drop"`
	// DeadLetter names the service (a sink) dead-lettered records go to.
	// Empty: JSON lines on standard error.
	DeadLetter string `yaml:"dead_letter" doc:"service name of the sink that receives every record the pipeline could not handle, with the reason; default: standard error" example:"rejects"`
	// CELCostLimit bounds what one CEL expression may cost.
	CELCostLimit int64 `yaml:"cel_cost_limit" doc:"the most one CEL expression (condition, metadata value, event time) may cost, in CEL cost units: an expression whose estimated cost can exceed it is rejected when the pipeline is loaded, and a record whose evaluation exceeds it is dead-lettered; -1: no limit" example:"100000"`
	// SinkRetries and SinkRetryBackoff say how a failed sink write is
	// retried before its records are dead-lettered.
	SinkRetries      int           `yaml:"sink_retries" doc:"how many times records a sink failed to write are written again (with doubling backoff) before they are dead-lettered with the sink's error; -1: never" example:"5"`
	SinkRetryBackoff time.Duration `yaml:"sink_retry_backoff" doc:"the first wait before a sink write is retried; it doubles up to 5s" example:"250ms"`

	// Event time (see watermark/README.md).
	AllowedLateness time.Duration `yaml:"allowed_lateness" doc:"how far behind the watermark a record may be before it is late" example:"30s"`
	IdleTimeout     time.Duration `yaml:"idle_timeout" doc:"a source (or fan-in input) silent this long stops holding the watermark back; 0 disables idleness" example:"1m"`
	LateRecords     LatePolicy    `yaml:"late_records" doc:"what happens to late records: dead_letter (default), drop, allow (pass on, marked with metadata late=true) or route (to late_route)" example:"route"`
	LateRoute       string        `yaml:"late_route" doc:"with late_records: route, the stage late records go to (a side output)" example:"late"`
}

// LatePolicy is the fate of a record whose event time is behind the
// watermark by more than the allowed lateness.
type LatePolicy string

// Late record policies.
const (
	LateDeadLetter LatePolicy = "dead_letter"
	LateDrop       LatePolicy = "drop"
	LateAllow      LatePolicy = "allow"
	LateRoute      LatePolicy = "route"
)

// SourceWatermark configures how a source's watermark is generated from
// its records' event times. A source takes part in event time (watermarks,
// lateness) only when it has a watermark section, as in Flink, where a
// stream has event time only with a WatermarkStrategy: an event_time
// section alone extracts event times and tracks nothing.
type SourceWatermark struct {
	At Position `yaml:"-"`
	// MaxOutOfOrderness bounds how far behind the largest event time seen a
	// record may arrive without being late (Flink's
	// forBoundedOutOfOrderness); 0 means monotonic event times.
	MaxOutOfOrderness time.Duration `yaml:"max_out_of_orderness" doc:"how far behind the largest event time seen records may arrive; 0: event times never decrease" example:"5s"`
	MaxFuture         time.Duration `yaml:"max_future" doc:"event times further than this ahead of the wall clock are clamped or dead-lettered (0: no guard)" example:"1h"`
	Future            string        `yaml:"future" doc:"clamp (default) or dead_letter, for event times beyond max_future" example:"dead_letter"`
}

// UnmatchedPolicy is the fate of a record no route accepts.
type UnmatchedPolicy string

// Unmatched policies.
const (
	UnmatchedDrop       UnmatchedPolicy = "drop"
	UnmatchedDeadLetter UnmatchedPolicy = "dead_letter"
	UnmatchedError      UnmatchedPolicy = "error"
)

// Source is an input of the pipeline.
type Source struct {
	At   Position `yaml:"-"`
	Name string   `yaml:"name,required" doc:"source name; edges may start from it" example:"orders"`
	Type string   `yaml:"type,required" doc:"connector type (file, generate, ...)" example:"file"`
	// EventTime says where records' event time comes from.
	EventTime *EventTimeConfig `yaml:"event_time" doc:"where the event time comes from" example:"{field: ts, unit: ms}"`
	// Watermark says how the source's watermark follows its event times.
	Watermark *SourceWatermark `yaml:"watermark" doc:"how the watermark follows event times; enables watermarks and lateness for this source ({} for the defaults)" example:"{max_out_of_orderness: 5s}"`
	// Config holds the connector's own keys, checked against its spec.
	Config Config `yaml:",inline"`
}

// EventTimeConfig extracts a record's event time.
type EventTimeConfig struct {
	At Position `yaml:"-"`
	// Field is a dot path into the JSON payload.
	Field string `yaml:"field" doc:"dot path of the payload field holding the event time" example:"created.at"`
	// Unit of a numeric field: s, ms, us, ns; or rfc3339 for strings.
	Unit string `yaml:"unit" doc:"s, ms, us or ns for numbers; rfc3339 for strings" example:"s"`
	// Expression is a CEL expression producing a timestamp (or seconds).
	Expression *Expr `yaml:"expression" doc:"CEL expression yielding a timestamp (or Unix seconds, or an RFC 3339 string), instead of field" example:"timestamp(record.payload.created)"`
	// Missing is the policy for records without an event time.
	Missing string `yaml:"missing" doc:"records without event time: dead_letter (default), drop, or use_processing_time" example:"drop"`
}

// Service is a named sink or plugin.
type Service struct {
	At   Position `yaml:"-"`
	Type string   `yaml:"type,required" doc:"sink connector type (file, stdout, discard, ...) or wasm" example:"file"`
	// Config holds the connector's (or the wasm plugin's) own keys.
	Config Config `yaml:",inline"`
}

// StageType is the kind of a stage.
type StageType string

// Stage types.
const (
	StageFilter    StageType = "filter"    // keep records whose condition holds
	StageMetadata  StageType = "metadata"  // set/remove metadata from CEL expressions
	StageMapping   StageType = "mapping"   // set/remove payload fields, payload, key and event time from CEL
	StageTransform StageType = "transform" // a Wasm plugin maps records
	StageFanOut    StageType = "fan_out"   // copy records to several stages
	StageFanIn     StageType = "fan_in"    // merge several inputs
	StageLookup    StageType = "lookup"    // enrich from a lookup service
	StageSink      StageType = "sink"      // write to a sink service
)

// Stage is a node of the pipeline DAG.
type Stage struct {
	At          Position  `yaml:"-"`
	ID          string    `yaml:"id,required" doc:"stage identifier, unique in the pipeline" example:"enrich"`
	Type        StageType `yaml:"type,required" doc:"filter, metadata, mapping, transform, fan_out, fan_in, lookup or sink" example:"lookup"`
	ServiceName string    `yaml:"service_name" doc:"the service a transform, lookup or sink stage uses" example:"customers"`
	// Condition of a filter stage.
	Condition *Condition `yaml:"condition" doc:"filter: records for which this holds go on, the others are filtered out" example:"record.payload.amount > 100"`
	// Set and Remove of a metadata stage (metadata keys) or a mapping
	// stage (payload dot paths).
	Set    map[string]*Expr `yaml:"set" doc:"metadata: key -> CEL expression whose value (as a string) is stored; mapping: payload dot path -> CEL expression whose value is stored as JSON (missing objects on the path are created)" example:"{region: record.payload.region}"`
	Remove []string         `yaml:"remove" doc:"metadata: keys to remove; mapping: payload dot paths to remove" example:"[debug, internal.trace]"`
	// Payload, Key and EventTimeExpr of a mapping stage.
	Payload       *Expr `yaml:"payload" doc:"mapping: CEL expression whose value (a map, a list or any value, as JSON) replaces the payload, before set and remove" example:"record.payload.order"`
	Key           *Expr `yaml:"key" doc:"mapping: CEL expression whose value (as a string) becomes the record key" example:"record.payload.user_id"`
	EventTimeExpr *Expr `yaml:"event_time" doc:"mapping: CEL expression whose value becomes the event time: a timestamp, Unix seconds (int or double) or an RFC 3339 string" example:"record.payload.ts"`

	FanOut *FanOutConfig `yaml:"fan_out" doc:"fan_out: the sinks (stages) to copy records to" example:"{sinks: [{sink_name: archive}]}"`
	FanIn  *FanInConfig  `yaml:"fan_in" doc:"fan_in: the inputs and how to merge them" example:"{sources: [{source_name: eu}, {source_name: us}]}"`
	Lookup *LookupConfig `yaml:"lookup" doc:"lookup: how to enrich records" example:"{lookup_service: customers, key_mappings: [{record_field: user_id, lookup_field: id}], result_field: customer}"`
	// Replicas runs the stage as this many parallel workers.
	Replicas    int                `yaml:"replicas" doc:"copies of the stage, each with its own queue and worker; records are spread over them by load_balance and leave each copy by every matching edge; replicas do not keep input order (default 1)" example:"4"`
	LoadBalance *LoadBalanceConfig `yaml:"load_balance" doc:"how records are spread over replicas (default round_robin)" example:"{strategy: hash}"`
	// Parallelism is how many batches a stateless stage processes at once.
	Parallelism int `yaml:"parallelism" doc:"batches a stateless stage (filter, metadata, fan_out, lookup, transform) processes at once, on as many goroutines, with outputs dispatched in input order; default: the number of CPUs (transforms: the service's instances; lookups: at least 8 in flight)" example:"2"`
	// Unmatched overrides the pipeline's policy for this stage.
	Unmatched UnmatchedPolicy `yaml:"unmatched" doc:"overrides settings.unmatched for this stage" example:"error"`
}

// Edge connects two nodes; a record crosses it when its condition holds (or
// always, without one). Every edge whose condition holds is taken: a record
// can go down several edges (fan-out).
type Edge struct {
	At        Position   `yaml:"-"`
	From      string     `yaml:"from,required" doc:"source name, 'source', or stage id" example:"keep"`
	To        string     `yaml:"to,required" doc:"stage id" example:"sink"`
	Condition *Condition `yaml:"condition" doc:"CEL expression or structured condition; 'else' makes this an else-edge (see otherwise)" example:"record.payload.amount > 100"`
	// Otherwise makes the edge an else-edge.
	Otherwise bool `yaml:"otherwise" doc:"an else-edge: taken only by records that no other edge from the same node takes (same as condition: else)" example:"true"`
}

// FanOutConfig lists the stages a fan_out stage copies records to.
type FanOutConfig struct {
	At    Position     `yaml:"-"`
	Sinks []FanOutSink `yaml:"sinks,required" doc:"target stages, each with an optional condition" example:"[{sink_name: archive}, {sink_name: alerts, condition: record.payload.level == 'error'}]"`
	// Strategy, when set, sends each record to ONE of the matching targets
	// (load balancing) instead of all of them.
	Strategy LoadBalanceStrategy `yaml:"strategy" doc:"empty: every matching target gets a copy; round_robin, hash, random or least_loaded: exactly one matching target gets it" example:"round_robin"`
	HashKey  string              `yaml:"hash_key" doc:"with strategy hash: 'key' (default) or a payload field path" example:"user_id"`
}

// FanOutSink is one target of a fan-out.
type FanOutSink struct {
	At        Position   `yaml:"-"`
	SinkName  string     `yaml:"sink_name,required" doc:"target stage id" example:"archive"`
	Condition *Condition `yaml:"condition" doc:"records go to this target only when it holds; 'else': only when no other target matched" example:"record.payload.level == 'error'"`
	Otherwise bool       `yaml:"otherwise" doc:"an else-target: gets only the records no other target of the fan-out matched (same as condition: else)" example:"true"`
}

// MergeStrategy orders a fan-in's output.
type MergeStrategy string

// Merge strategies.
const (
	MergeEventTime  MergeStrategy = "event_time"
	MergeArrival    MergeStrategy = "arrival"
	MergeRoundRobin MergeStrategy = "round_robin"
)

// FanInWatermark combines a fan-in's input watermarks.
type FanInWatermark string

// Fan-in watermark modes.
const (
	FanInWatermarkMin FanInWatermark = "min"
	FanInWatermarkMax FanInWatermark = "max"
)

// FanInConfig merges several inputs into one ordered stream.
type FanInConfig struct {
	At            Position       `yaml:"-"`
	Sources       []FanInSource  `yaml:"sources,required" doc:"the inputs: source names or stage ids" example:"[{source_name: eu}, {source_name: us}]"`
	MergeStrategy MergeStrategy  `yaml:"merge_strategy" doc:"event_time (default), arrival or round_robin" example:"arrival"`
	Watermark     FanInWatermark `yaml:"watermark" doc:"min (default: the slowest input holds the merge back) or max (the fastest input drives it; records behind it are late)" example:"max"`
	LateRecords   LatePolicy     `yaml:"late_records" doc:"overrides settings.late_records" example:"drop"`
	LateRoute     string         `yaml:"late_route" doc:"overrides settings.late_route" example:"late"`
	Buffer        int            `yaml:"buffer" doc:"records buffered per input (a full input is backpressured); default four batches, at least two" example:"8192"`
}

// FanInSource is one input of a fan-in.
type FanInSource struct {
	At         Position `yaml:"-"`
	SourceName string   `yaml:"source_name,required" doc:"a source name or a stage id" example:"eu"`
}

// LookupMissStrategy is what a lookup does when the key is not found.
type LookupMissStrategy string

// Lookup miss strategies.
const (
	LookupMissSkip       LookupMissStrategy = "skip"
	LookupMissDrop       LookupMissStrategy = "drop"
	LookupMissDeadLetter LookupMissStrategy = "dead_letter"
	LookupMissDefault    LookupMissStrategy = "default"
	LookupMissFail       LookupMissStrategy = "fail"
)

// LookupConfig enriches records with data from a lookup service.
type LookupConfig struct {
	At            Position           `yaml:"-"`
	LookupService string             `yaml:"lookup_service" doc:"lookup service name (or the stage's service_name)" example:"customers"`
	KeyMappings   []LookupKeyMapping `yaml:"key_mappings,required" doc:"record fields -> lookup fields" example:"[{record_field: user_id, lookup_field: id}]"`
	ResultField   string             `yaml:"result_field,required" doc:"payload field the result is stored in" example:"customer"`
	MissStrategy  LookupMissStrategy `yaml:"miss_strategy" doc:"what a record whose key is not found becomes: skip (default: passes unchanged), drop, dead_letter, default (gets default in result_field) or fail (stops the run)" example:"default"`
	// Default is the value stored in result_field on a miss, with
	// miss_strategy default (any value, stored as JSON; in Go, ValueOf).
	Default Value `yaml:"default" doc:"with miss_strategy default: the value stored in result_field when the key is not found" example:"{tier: unknown}"`
}

// LookupKeyMapping maps a record field onto a lookup key field.
type LookupKeyMapping struct {
	At          Position `yaml:"-"`
	RecordField string   `yaml:"record_field,required" doc:"dot path of the payload field holding the key part, or 'key' for the record key" example:"user.id"`
	LookupField string   `yaml:"lookup_field,required" doc:"the lookup service's field it must equal" example:"id"`
}

// LoadBalanceStrategy chooses one of several replicas or targets.
type LoadBalanceStrategy string

// Load balancing strategies.
const (
	RoundRobin  LoadBalanceStrategy = "round_robin"
	Hash        LoadBalanceStrategy = "hash"
	Random      LoadBalanceStrategy = "random"
	LeastLoaded LoadBalanceStrategy = "least_loaded"
)

// LoadBalanceConfig spreads a stage's records over its replicas.
type LoadBalanceConfig struct {
	At       Position            `yaml:"-"`
	Strategy LoadBalanceStrategy `yaml:"strategy,required" doc:"round_robin, hash, random or least_loaded" example:"hash"`
	HashKey  string              `yaml:"hash_key" doc:"with hash: 'key' (default) or a payload field path" example:"customer.id"`
}

// Condition is a condition in a pipeline: a CEL expression or a structured
// condition (and/or/not/metadata_equals/metadata_exists/payload). In a file
// it is compiled when the pipeline is; in Go, build one with When or
// WhenCondition.
type Condition struct {
	// Expr is the CEL source, for conditions given as a string.
	Expr string

	file string
	node *yaml.Node
	cond conditions.Condition
}

// When returns a CEL condition, compiled with the pipeline.
func When(expr string) *Condition { return &Condition{Expr: expr} }

// WhenCondition wraps an already built condition.
func WhenCondition(c conditions.Condition) *Condition { return &Condition{cond: c} }

// decodeNode keeps the node to compile it with the pipeline's CEL
// environment.
func (c *Condition) decodeNode(file string, n *yaml.Node) error {
	c.file, c.node = file, n
	if n.Kind == yaml.ScalarNode {
		c.Expr = n.Value
	}
	return nil
}

// Expr is a CEL value expression in a pipeline (metadata values, event
// times). In a file it keeps its position for error messages; in Go, build
// one with Expression.
type Expr struct {
	// Src is the CEL source.
	Src  string
	file string
	node *yaml.Node
}

// DocType names the type in generated docs.
func (*Expr) DocType() string { return "CEL expression" }

// DocType names the type in generated docs.
func (*Condition) DocType() string {
	return "condition (CEL string or and/or/not/metadata_equals/metadata_exists/payload)"
}

// Expression returns a CEL value expression.
func Expression(src string) *Expr { return &Expr{Src: src} }

// decodeNode keeps the node for positions.
func (e *Expr) decodeNode(file string, n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &decode.Error{Pos: decode.At(file, n), Msg: "expected a CEL expression (a string)"}
	}
	e.Src, e.file, e.node = n.Value, file, n
	return nil
}

func (e *Expr) compile(env *conditions.Env, file string) (*conditions.ValueProgram, error) {
	src := conditions.Source{File: file}
	if e.node != nil {
		src = conditions.NodeSource(e.file, e.node)
	}
	return env.CompileValue(e.Src, src)
}

// String returns the condition's source text.
func (c *Condition) String() string {
	if c == nil {
		return "true"
	}
	if c.cond != nil {
		return c.cond.String()
	}
	return c.Expr
}

// isElse reports whether c is the else condition (condition: else).
func (c *Condition) isElse() bool {
	return c != nil && c.cond == nil && strings.TrimSpace(c.Expr) == "else" && (c.node == nil || c.node.Kind == yaml.ScalarNode)
}

// compile returns the compiled condition; c is not modified, so one
// Pipeline can be compiled any number of times, concurrently.
func (c *Condition) compile(env *conditions.Env, file string) (conditions.Condition, error) {
	if c.cond != nil {
		return c.cond, nil
	}
	if c.node != nil {
		return conditions.ParseNode(env, c.file, c.node)
	}
	return env.Compile(c.Expr, conditions.Source{File: file})
}

func (s *Stage) String() string { return fmt.Sprintf("%s stage %q", s.Type, s.ID) }
