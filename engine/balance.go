package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// balancer picks one of n choices for a record. It is safe for concurrent
// use.
type balancer struct {
	strategy LoadBalanceStrategy
	keyPath  []string // hash on a payload field; nil: the record key
	next     atomic.Uint64
	// load counts records in flight per choice, for least_loaded. The
	// runtime adds when it sends and subtracts when processing is done.
	load []atomic.Int64
}

// fnv1a is the 64-bit FNV-1a hash: stable across processes and versions,
// so that several instances of a pipeline agree on where a key goes.
func fnv1a[T string | []byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// strategyNames are the load balancing strategies, as a pipeline names them.
var strategyNames = []string{string(RoundRobin), string(Hash), string(Random), string(LeastLoaded)}

func newBalancer(s LoadBalanceStrategy, hashKey string) (*balancer, error) {
	b := &balancer{strategy: s}
	switch s {
	case RoundRobin, Random, LeastLoaded:
		if hashKey != "" {
			return nil, fmt.Errorf("hash_key is only for strategy hash")
		}
	case Hash:
		if hashKey != "" && hashKey != "key" {
			b.keyPath = strings.Split(hashKey, ".")
		}
	default:
		return nil, fmt.Errorf("unknown strategy %q (want %s)%s", s, orList(strategyNames), didYouMeanIn(string(s), strategyNames))
	}
	return b, nil
}

// setChoices sizes the in-flight counters for n choices.
func (b *balancer) setChoices(n int) { b.load = make([]atomic.Int64, n) }

// pick returns an index in [0, n). For hash it is a pure function of the
// key (or field), so the same key always goes to the same choice while n is
// unchanged, in every process.
func (b *balancer) pick(r *record.Record, n int) int {
	if n <= 1 {
		return 0
	}
	switch b.strategy {
	case RoundRobin:
		return int((b.next.Add(1) - 1) % uint64(n))
	case Random:
		return rand.IntN(n)
	case Hash:
		return int(b.hash(r) % uint64(n))
	case LeastLoaded:
		best, bestLoad := 0, int64(1<<62)
		start := int(b.next.Add(1) % uint64(n)) // break ties fairly
		for i := 0; i < n; i++ {
			j := (start + i) % n
			if j < len(b.load) {
				if l := b.load[j].Load(); l < bestLoad {
					best, bestLoad = j, l
				}
			}
		}
		return best
	}
	return 0
}

func (b *balancer) hash(r *record.Record) uint64 {
	if b.keyPath == nil {
		return fnv1a(r.Key)
	}
	v, err := r.JSON()
	if err != nil {
		return 0
	}
	f := v.Get(b.keyPath...)
	if f == nil {
		return 0
	}
	if f.Type() == fastjson.TypeString {
		return fnv1a(f.GetStringBytes())
	}
	return fnv1a(f.String())
}

// add records delta records in flight at choice i.
func (b *balancer) add(i int, delta int64) {
	if b != nil && i < len(b.load) {
		b.load[i].Add(delta)
	}
}
