package conveyor

import (
	"errors"
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// LookupFunc answers one lookup key: the row, a JSON object such as
// {"tier":"gold"}, and true for a hit, or false for a miss. The key is valid
// only during the call; the row is copied when LookupFunc returns, so it may
// be reused. A LookupFunc that panics fails the whole lookup batch (there is
// no per-key error: a key that cannot be answered is a miss, or a bug).
type LookupFunc func(key []byte) (row []byte, found bool)

// RegisterLookup makes the plugin a lookup service (ABI 1.1): the host asks
// it for batches of keys through conveyor_lookup. Call it from an init
// function of package main. A plugin may register a transform, a lookup or
// both; the host learns which through conveyor_capabilities.
func RegisterLookup(f LookupFunc) { registered.lookup = f }

// capabilities returns the conveyor_capabilities bits of what is registered.
func (h *hooks) capabilities() uint32 {
	var c uint32
	if h.transform != nil {
		c |= abi.CapTransform
	}
	if h.lookup != nil {
		c |= abi.CapLookup
	}
	return c
}

// lookupBatch decodes a lookup request frame, asks the LookupFunc for every
// key and returns the lookup result frame, valid until the next call.
func (g *guest) lookupBatch(frame []byte) ([]byte, error) {
	if g.hooks.lookup == nil || g.config == nil {
		return nil, errors.New("conveyor: conveyor_lookup called without a registered lookup or before a successful conveyor_init")
	}
	keys, err := abi.DecodeLookupRequest(frame, g.keys[:0])
	if err != nil {
		return nil, fmt.Errorf("conveyor: decode lookup request: %w", err)
	}
	g.keys = keys
	b := append(g.lookupOut[:0], abi.BatchMagic...)
	b = append(b, byte(abi.Major), byte(abi.Major>>8), byte(abi.Minor), byte(abi.Minor>>8), abi.FrameLookupResult, 0, 0, 0)
	n := uint32(len(keys))
	b = append(b, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	for _, k := range keys {
		row, found := g.hooks.lookup(k)
		if !found {
			b = append(b, 0)
			continue
		}
		m := uint32(len(row))
		b = append(b, 1, byte(m), byte(m>>8), byte(m>>16), byte(m>>24))
		b = append(b, row...)
	}
	clear(g.keys) // drop references into the input buffer
	g.lookupOut = b
	return b, nil
}
