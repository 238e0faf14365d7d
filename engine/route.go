package engine

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// Record is the unit of data flowing through a pipeline.
type Record = record.Record

// ErrUnmatched is returned by Route when no outgoing edge accepts a record
// and the stage's unmatched policy is "error".
var ErrUnmatched = errors.New("no route matched")

// RoutingEngine decides where a record goes next, on a compiled Plan. It
// holds no state of its own and a Plan is immutable, so one RoutingEngine
// serves any number of plans and goroutines, also while the plans run.
type RoutingEngine struct{}

// NewRoutingEngine returns a routing engine.
func NewRoutingEngine() *RoutingEngine { return &RoutingEngine{} }

// Route returns the stages a record leaving current (a stage id, a source
// name, or "source" for the first source) goes to next: every target whose
// edge condition holds, or exactly one of them for a load-balanced fan-out
// (a stage's replicas are copies of one stage, never a choice between
// edges). An empty result means no edge matched; what happens then is the
// stage's UnmatchedPolicy (Route returns ErrUnmatched when it is "error").
// A condition that cannot be evaluated (a payload that is not JSON, a
// missing field) is an error naming the stage and the condition. The
// returned slice is shared: do not modify it.
func (e *RoutingEngine) Route(p *Plan, current string, r *Record) ([]*Stage, error) {
	n, ok := p.byID[current]
	if !ok && current == AllSources && len(p.sources) > 0 {
		n, ok = p.sources[0], true
	}
	if !ok {
		return nil, fmt.Errorf("route: unknown stage %q", current)
	}
	if n.allRoutes != nil {
		return n.allRoutes, nil
	}
	var buf [8]int
	idx, err := n.route(r, buf[:0], conditions.NoWatermark, n.fanLB)
	if err != nil {
		return nil, err
	}
	if len(idx) == 0 {
		if n.unmatched == UnmatchedError {
			return nil, fmt.Errorf("stage %q: %w", n.id, ErrUnmatched)
		}
		return nil, nil
	}
	if len(idx) == 1 {
		return n.routeStage[idx[0]], nil
	}
	out := make([]*Stage, len(idx))
	for i, j := range idx {
		out[i] = n.routes[j].to.stage
	}
	return out, nil
}

// UnmatchedPolicy returns the policy that applies to records no edge out of
// stage id accepts.
func (p *Plan) UnmatchedPolicy(id string) UnmatchedPolicy {
	if n, ok := p.byID[id]; ok {
		return n.unmatched
	}
	return p.settings.Unmatched
}

// route appends to dst the indexes of n.routes that r takes. wm is the
// stage's watermark as CEL sees it; lb, for a load-balanced fan-out, picks
// one of the matching routes.
func (n *node) route(r *record.Record, dst []int, wm int64, lb *balancer) ([]int, error) {
	start := len(dst)
	for i := range n.routes {
		c := n.routes[i].cond
		if n.routes[i].late || n.routes[i].otherwise {
			continue
		}
		if c == nil {
			dst = append(dst, i)
			continue
		}
		ok, err := c.EvalWatermark(r, wm)
		if err != nil {
			return dst[:start], fmt.Errorf("stage %q -> %q: %w", n.id, n.routes[i].to.id, err) // err names the condition
		}
		if ok {
			dst = append(dst, i)
		}
	}
	if len(dst) == start {
		for i := range n.routes {
			if n.routes[i].otherwise {
				dst = append(dst, i)
			}
		}
	}
	if lb != nil && len(dst)-start > 1 {
		pick := dst[start+lb.pick(r, len(dst)-start)]
		dst = append(dst[:start], pick)
	}
	return dst, nil
}

// routeMask is route for nodes with at most 64 routes, as a bit set.
func (n *node) routeMask(r *record.Record, wm int64, lb *balancer) (uint64, error) {
	var m uint64
	k := 0
	var otherwise uint64
	for i := range n.routes {
		rt := &n.routes[i]
		if rt.late {
			continue
		}
		if rt.otherwise {
			otherwise |= 1 << i
			continue
		}
		if rt.cond != nil {
			ok, err := rt.cond.EvalWatermark(r, wm)
			if err != nil {
				return 0, fmt.Errorf("stage %q -> %q: %w", n.id, rt.to.id, err) // err names the condition
			}
			if !ok {
				continue
			}
		}
		m |= 1 << i
		k++
	}
	if m == 0 && otherwise != 0 {
		m, k = otherwise, bits.OnesCount64(otherwise)
	}
	if lb != nil && k > 1 {
		pick := lb.pick(r, k)
		for mm := m; mm != 0; mm &= mm - 1 {
			if pick == 0 {
				return mm & -mm, nil
			}
			pick--
		}
	}
	return m, nil
}
