package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

func init() {
	registerStage(&stageKind{
		typ:     StageTransform,
		doc:     "maps each record to zero, one or many records with a Wasm plugin",
		service: capTransform,
		traits:  stageTraits{stateless: true},
		build:   (*Runner).newTransform,
	})
}

// plugin loads (once per service) the Wasm plugin a stage names.
func (r *Runner) plugin(name string) (*plugins.Plugin, error) {
	if p, ok := r.plugins[name]; ok {
		return p, nil
	}
	c := r.pl.services[name].wasm
	path := c.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.pl.p.baseDir(), path)
	}
	timeout := c.BatchTimeout
	if timeout == 0 {
		timeout = -1 // plugins: negative disables the limit
	}
	p, err := plugins.Load(context.Background(), plugins.Options{
		Name:      name,
		Path:      path,
		Runtime:   c.Runtime,
		Config:    c.Config,
		Instances: c.Instances,
		CacheDir:  r.opts.PluginCacheDir,
		Logger:    r.log, // plugins.Load adds the plugin attribute
		Limits: plugins.Limits{
			MemoryPages:           c.MaxMemoryPages,
			BatchTimeout:          timeout,
			MaxBatchesPerInstance: c.RecycleAfter,
			MemoryHighWater:       c.RecycleAboveSize,
		},
		Grants: plugins.Grants{Env: c.Env, Dirs: c.Dirs},
	})
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", name, err)
	}
	if r.plugins == nil {
		r.plugins = map[string]*plugins.Plugin{}
	}
	r.plugins[name] = p
	r.closers = append(r.closers, p.Close)
	return p, nil
}

func (r *Runner) newTransform(n *node) (processor, error) {
	p, err := r.plugin(n.stage.ServiceName)
	if err != nil {
		return nil, err
	}
	return &transformProc{p: p, name: n.stage.ServiceName, stage: n.id, parallel: r.pl.services[n.stage.ServiceName].wasm.Instances}, nil
}

// transformProc sends each batch through a Wasm plugin. A transform maps
// every input record to zero, one or many outputs; the outputs inherit the
// input's acknowledgement, source and origin.
type transformProc struct {
	p     *plugins.Plugin
	name  string // the service
	stage string
	// parallel is how many batches run at once on the plugin's instances
	// (0: the executor's default); their outputs are still dispatched in
	// input order.
	parallel int
	scratch  sync.Pool // *txScratch
}

// parallelism implements parallelHint: a transform runs as many batches at
// once as its service has instances.
func (t *transformProc) parallelism() int { return t.parallel }

// txScratch is a worker's reusable conversion buffers.
type txScratch struct {
	in    []abi.Record
	kv    []abi.KV
	batch plugins.Batch
	paths []int32
}

// bytesOf views s as bytes without copying; the guest codec only reads it.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// stringOf views b as a string without copying. b must never change: it is
// a batch's arena, which nothing writes to after the copy.
func stringOf(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (t *transformProc) process(ctx context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
	sc, _ := t.scratch.Get().(*txScratch)
	if sc == nil {
		sc = &txScratch{}
	}
	out, bc.dl = t.run(ctx, sc, in, out, bc.dl)
	t.scratch.Put(sc)
	return out
}

// run sends one batch through the plugin. Records that fail are appended
// to dl for the caller to dead-letter.
func (t *transformProc) run(ctx context.Context, sc *txScratch, in, out []*record.Record, dl []dlItem) ([]*record.Record, []dlItem) {
	sc.in, sc.kv = sc.in[:0], sc.kv[:0]
	for _, r := range in {
		for _, m := range r.Metadata {
			sc.kv = append(sc.kv, abi.KV{Key: bytesOf(m.Key), Value: bytesOf(m.Value)})
		}
	}
	kv := sc.kv
	for _, r := range in {
		md := kv[:len(r.Metadata):len(r.Metadata)]
		kv = kv[len(r.Metadata):]
		sc.in = append(sc.in, abi.Record{Key: bytesOf(r.Key), Payload: r.Payload, Metadata: md,
			EventTime: r.EventTime, HasEventTime: r.HasEventTime()})
	}
	// ProcessBatch reuses the output frame: the outputs' bytes are copied
	// into one fresh arena per batch below, which the new records share.
	err := t.p.ProcessBatch(ctx, sc.in, &sc.batch)
	outs := sc.batch.Outputs
	if err != nil {
		for _, r := range in {
			dl = append(dl, dlItem{rec: r, reason: err.Error(), stage: t.stage})
		}
		return out, dl
	}
	// Count each input's paths: one per output record or error.
	if cap(sc.paths) < len(in) {
		sc.paths = make([]int32, len(in))
	}
	paths := sc.paths[:len(in)]
	clear(paths)
	nrec, size := 0, 0
	for i := range outs {
		switch o := &outs[i]; o.Kind {
		case abi.KindRecord:
			paths[o.Input]++
			nrec++
			size += len(o.Record.Key) + len(o.Record.Payload)
			for _, m := range o.Record.Metadata {
				size += len(m.Key) + len(m.Value)
			}
		case abi.KindError:
			paths[o.Input]++
		}
	}
	slab := make([]record.Record, nrec)
	arena := make([]byte, 0, size)
	// keep copies b into the arena and returns the copy; the arena never
	// grows (size is exact), so earlier copies stay put.
	keep := func(b []byte) []byte {
		start := len(arena)
		arena = append(arena, b...)
		return arena[start:len(arena):len(arena)]
	}
	for i, r := range in {
		if paths[i] == 0 {
			end(r, record.Dropped) // no output, or only drops
			continue
		}
		r.Ack.Fork(int(paths[i]) - 1)
	}
	errored := false
	for i := range outs {
		o := &outs[i]
		src := in[o.Input]
		switch o.Kind {
		case abi.KindRecord:
			nr := &slab[0]
			slab = slab[1:]
			nr.Key = stringOf(keep(o.Record.Key))
			nr.Payload = keep(o.Record.Payload)
			nr.EventTime = record.NoEventTime
			if o.Record.HasEventTime {
				nr.EventTime = o.Record.EventTime
			}
			if len(o.Record.Metadata) > 0 {
				nr.Metadata = make(record.Metadata, len(o.Record.Metadata))
				for j, m := range o.Record.Metadata {
					nr.Metadata[j] = record.KV{Key: stringOf(keep(m.Key)), Value: stringOf(keep(m.Value))}
				}
			}
			nr.Source, nr.Origin, nr.Ack = src.Source, src.Origin, src.Ack
			out = append(out, nr)
		case abi.KindError:
			errored = true
			dl = append(dl, dlItem{rec: src, reason: fmt.Sprintf("plugin %q: %s", t.name, o.Err), stage: t.stage})
		}
	}
	if !errored {
		for i, r := range in {
			if paths[i] > 0 {
				r.Release()
			}
		}
	}
	return out, dl
}
