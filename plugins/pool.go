package plugins

import (
	"context"
	"errors"
	"sync"
)

var errClosed = errors.New("plugin is closed")

// pool bounds the number of batches running at once and keeps idle
// instances, most recently used first so that warm instances are reused and
// cold ones are only created under concurrent load.
type pool struct {
	tokens  chan struct{} // one token per running batch
	closing chan struct{}

	mu   sync.Mutex
	idle []*instance
}

func newPool(n int) *pool {
	return &pool{tokens: make(chan struct{}, n), closing: make(chan struct{})}
}

// size is the number of batches that may run at once.
func (p *pool) size() int { return cap(p.tokens) }

// acquire waits for a token and returns an idle instance, or nil when the
// caller must create one.
func (p *pool) acquire(ctx context.Context) (*instance, error) {
	select {
	case <-p.closing:
		return nil, errClosed
	default:
	}
	select {
	case p.tokens <- struct{}{}:
	case <-p.closing:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-p.closing:
		<-p.tokens
		return nil, errClosed
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return inst, nil
	}
	return nil, nil
}

// release returns the token and, unless nil, the instance.
func (p *pool) release(inst *instance) {
	if inst != nil {
		p.mu.Lock()
		p.idle = append(p.idle, inst)
		p.mu.Unlock()
	}
	<-p.tokens
}

// put adds an idle instance without a token (used once at Load).
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	p.idle = append(p.idle, inst)
	p.mu.Unlock()
}

// drain stops new batches, waits for running ones (until ctx ends) and
// returns the idle instances.
func (p *pool) drain(ctx context.Context) ([]*instance, error) {
	close(p.closing)
	var err error
	for range p.size() {
		select {
		case p.tokens <- struct{}{}:
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	idle := p.idle
	p.idle = nil
	return idle, err
}
