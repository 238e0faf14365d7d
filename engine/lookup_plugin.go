package engine

import (
	"context"
	"sync"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
)

// wasmLookup is a `type: wasm` service used as a lookup service: its
// plugin's conveyor_lookup export (ABI 1.1) answers a batch of keys with a
// row or a miss each. The plugin is shared with any transform stage that
// names the same service and closed with the run.
type wasmLookup struct {
	p       *plugins.Plugin
	scratch sync.Pool // *wasmLookupScratch
}

type wasmLookupScratch struct {
	keys [][]byte
	res  []plugins.LookupResult
}

var _ connectors.LookupService = (*wasmLookup)(nil)

// KeyFields implements connectors.LookupService: any one field.
func (*wasmLookup) KeyFields() []string { return nil }

// LookupBatch implements connectors.LookupService. A plugin fault (trap,
// time or memory limit) fails the batch: its records are dead-lettered with
// the fault, as the lookup stage does for any failing service.
func (w *wasmLookup) LookupBatch(ctx context.Context, _ []string, keys [][]string, results [][]byte) error {
	sc, _ := w.scratch.Get().(*wasmLookupScratch)
	if sc == nil {
		sc = &wasmLookupScratch{}
	}
	defer w.scratch.Put(sc)
	sc.keys = sc.keys[:0]
	for _, k := range keys {
		sc.keys = append(sc.keys, bytesOf(k[0]))
	}
	res, err := w.p.Lookup(ctx, sc.keys, sc.res[:0])
	sc.res = res
	clear(sc.keys)
	if err != nil {
		return err
	}
	for i := range res {
		if res[i].Found {
			results[i] = res[i].Row // owned by us: Lookup copies rows out of the guest
		}
		res[i] = plugins.LookupResult{}
	}
	return nil
}

// Close implements connectors.LookupService; the plugin is closed with the
// run.
func (*wasmLookup) Close() error { return nil }
