package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// LookupResult answers one key of Plugin.Lookup: Found reports a hit, and
// Row is then the row, a JSON object.
type LookupResult = abi.LookupResult

// Capabilities say what a module can be used as.
type Capabilities struct {
	// Transform: the module exports conveyor_process (a transform stage).
	Transform bool
	// Lookup: the module exports conveyor_lookup (a lookup service,
	// ABI 1.1).
	Lookup bool
}

// ErrNotLookup is returned by Lookup when the module does not export
// conveyor_lookup; ErrNotTransform by Process and ProcessBatch when it does
// not export conveyor_process. Check Capabilities when loading.
var (
	ErrNotLookup    = errors.New("module does not export " + abi.ExportLookup)
	ErrNotTransform = errors.New("module does not export " + abi.ExportProcess)
)

// Capabilities says whether the plugin is a transform, a lookup or both.
func (p *Plugin) Capabilities() Capabilities { return p.caps }

// Lookup asks the guest's conveyor_lookup for keys as one batch and returns
// one result per key, in key order, appended to dst. Rows reference a
// buffer owned by the caller from then on and stay valid after Lookup
// returns.
//
// Lookups share the plugin's instances, limits and fault handling with
// transforms: a guest that traps, runs past Limits.BatchTimeout, runs out
// of memory or returns a malformed result (a count other than len(keys), a
// row that is not a JSON object) loses the batch; it is retried once on a
// fresh instance, and if that fails too Lookup returns a *BatchError and
// dst unchanged. A miss is not an error. Lookup blocks while all instances
// are busy; an empty keys returns at once.
func (p *Plugin) Lookup(ctx context.Context, keys [][]byte, dst []LookupResult) ([]LookupResult, error) {
	if !p.caps.Lookup {
		return dst, fmt.Errorf("plugin %s: %w", p.name, ErrNotLookup)
	}
	if len(keys) == 0 {
		return dst, nil
	}
	res := dst
	err := p.attempt(ctx, func(inst *instance) *fault {
		var f *fault
		res, f = inst.lookupBatch(ctx, keys, dst)
		return f
	}, func() {
		p.lookups.Add(1)
		p.lookupKeys.Add(uint64(len(keys)))
		for _, r := range res[len(dst):] {
			if r.Found {
				p.lookupHits.Add(1)
			}
		}
	})
	if err != nil {
		return dst, err
	}
	return res, nil
}

// jsonValid is json.Valid; a variable so that the check has one place.
var jsonValid = json.Valid
