package engine

import (
	"context"
	"slices"
	"strings"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// A stage type is a registration, like a connector: one file per type
// (stage_filter.go, stage_lookup.go, ...) registers a stageKind in init()
// with what it accepts, what it needs and how it runs. The compiler and the
// scheduler only ever look at the registration; adding a stage type touches
// neither.
type stageKind struct {
	typ StageType
	// doc is the one-line description in generated docs.
	doc string
	// keys are the Stage keys (YAML names) this type accepts besides the
	// common ones (id, type, replicas, load_balance, unmatched,
	// parallelism); any other key set on the stage is an error.
	keys []string
	// service is the capability the stage's service_name must provide
	// (capNone: the stage takes no service_name).
	service capability
	traits  stageTraits
	// compile validates the stage and stores its compiled form in n.impl.
	compile func(c *compiler, n *node)
	// build makes the run's processor from the compiled node.
	build func(r *Runner, n *node) (processor, error)
}

// stageTraits say how the executor may run a stage.
type stageTraits struct {
	// stateless: batches may be processed on several workers at once; the
	// executor still dispatches their outputs in input order, with the
	// watermarks in place.
	stateless bool
	// blocking: the stage waits on I/O (a lookup service, later a network
	// call); it runs several batches at once even on one CPU, up to its
	// in-flight limit, so one slow call never stalls the stage.
	blocking bool
	// inputsSeparate: one queue per input node instead of one per replica
	// (a merge); the processor must implement inputRunner.
	inputsSeparate bool
	// terminal: the stage has no outgoing edges (a sink).
	terminal bool
}

// capability is what a service provides to stages.
type capability uint8

const (
	capNone capability = 0
	capSink capability = 1 << iota
	capLookup
	capTransform
)

func (c capability) String() string {
	var names []string
	for _, x := range []struct {
		c capability
		n string
	}{{capSink, "sink"}, {capLookup, "lookup"}, {capTransform, "transform"}} {
		if c&x.c != 0 {
			names = append(names, x.n)
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, "+")
}

var stageKinds = map[StageType]*stageKind{}

func registerStage(k *stageKind) {
	if _, dup := stageKinds[k.typ]; dup {
		panic("engine: stage type registered twice: " + string(k.typ))
	}
	stageKinds[k.typ] = k
}

// stageTypeNames lists the registered stage types, sorted.
func stageTypeNames() []string {
	names := make([]string, 0, len(stageKinds))
	for t := range stageKinds {
		names = append(names, string(t))
	}
	slices.Sort(names)
	return names
}

// processor is a stage's behaviour in a run: it turns an input batch into
// outputs (appended to out) and ends the paths of the records it consumes.
// A stateless processor's process is called from several goroutines at
// once; it must keep its per-batch state in bc or in scratch it pools.
type processor interface {
	process(ctx context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record
}

// idler is a processor that wants to know when its queue has run dry, and
// when it has ended (a sink flushes then); what it dead-letters goes
// through bc.
type idler interface {
	idle(ctx context.Context, bc *batchCtx)
}

// inputRunner is a processor that consumes its input queues itself (a
// merge): the executor hands it the stage and its output worker.
type inputRunner interface {
	runInputs(ctx context.Context, st *stageRT, w *worker)
}

// batchCtx is what a processor sees of the run while it processes one
// batch: the batch's input watermark, and where its dead letters go (they
// are sent in input order with the batch's outputs).
type batchCtx struct {
	r     *Runner
	stage string
	rep   int // the replica (queue) the batch came from
	wm    int64
	dl    []dlItem
}

// deadLetter sends rec to the dead-letter sink with a reason, after the
// batch's outputs.
func (bc *batchCtx) deadLetter(rec *record.Record, reason string) {
	bc.deadLetterKind(rec, reason, "")
}

// deadLetterKind is deadLetter with the kind of reason for metrics ("":
// the stage's type).
func (bc *batchCtx) deadLetterKind(rec *record.Record, reason, kind string) {
	bc.dl = append(bc.dl, dlItem{rec: rec, reason: reason, stage: bc.stage, kind: kind})
}

// fail stops the run with err (the first error wins).
func (bc *batchCtx) fail(err error) { bc.r.fail(err) }
