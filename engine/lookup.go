package engine

import (
	"errors"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// checkLookup validates a lookup stage's settings against its service.
func checkLookup(p *Pipeline, errs *errList, n *node, sv *service) {}

func (r *Runner) newLookup(n *node) (processor, error) {
	return nil, errors.New("lookup stages: not implemented yet")
}

var _ = record.New
