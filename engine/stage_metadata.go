package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func init() {
	registerStage(&stageKind{
		typ:    StageMetadata,
		doc:    "sets metadata keys from CEL expressions and removes keys",
		keys:   []string{"set/remove"},
		traits: stageTraits{stateless: true},
		compile: func(c *compiler, n *node) {
			s := n.stage
			if len(s.Set) == 0 && len(s.Remove) == 0 {
				c.at(s.At, "stage %q: a metadata stage needs set or remove", s.ID)
			}
			keys := make([]string, 0, len(s.Set))
			for k := range s.Set {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			m := metadataProc{remove: s.Remove}
			for _, k := range keys {
				vp, err := s.Set[k].compile(c.pl.env, c.p.File)
				if err != nil {
					c.add(err)
					continue
				}
				m.set = append(m.set, metaSetter{key: k, val: vp})
			}
			n.impl = m
		},
		build: func(_ *Runner, n *node) (processor, error) { return n.impl.(metadataProc), nil },
	})
}

type metaSetter struct {
	key string
	val *conditions.ValueProgram
}

// metadataProc sets metadata from CEL expressions and removes keys.
type metadataProc struct {
	set    []metaSetter
	remove []string
}

func (m metadataProc) process(_ context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
next:
	for _, r := range in {
		for _, s := range m.set {
			v, err := s.val.EvalString(r)
			if err != nil {
				bc.deadLetter(r, fmt.Sprintf("metadata %q: set %q: %v", bc.stage, s.key, err))
				continue next
			}
			r.Metadata.Set(s.key, v)
		}
		for _, k := range m.remove {
			r.Metadata.Delete(k)
		}
		out = append(out, r)
	}
	return out
}
