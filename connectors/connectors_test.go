package connectors

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// withRegistry runs the test against an empty registry and restores the real
// one afterwards, so that test registrations do not leak into other tests.
func withRegistry(t *testing.T) {
	t.Helper()
	mu.Lock()
	saved := specs
	specs = map[string]Spec{}
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		specs = saved
		mu.Unlock()
	})
}

func TestTypes_Builtins(t *testing.T) {
	tests := []struct {
		kind Kind
		want []string
	}{
		{KindSource, []string{"file", "generate"}},
		{KindSink, []string{"discard", "file", "stdout"}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if got := Types(tt.kind); !slices.Equal(got, tt.want) {
				t.Fatalf("Types(%v) = %q, want %q", tt.kind, got, tt.want)
			}
			for _, typ := range tt.want {
				s, ok := Lookup(tt.kind, typ)
				if !ok {
					t.Fatalf("Lookup(%v, %q) not found", tt.kind, typ)
				}
				if s.Type != typ || s.Kind != tt.kind || s.Summary == "" || s.NewConfig == nil || s.Build == nil {
					t.Errorf("Lookup(%v, %q) = incomplete spec %+v", tt.kind, typ, s)
				}
				if s.NewConfig() == nil {
					t.Errorf("%s %q: NewConfig returned nil", tt.kind, typ)
				}
			}
		})
	}
}

func TestRegister_Duplicate_Panics(t *testing.T) {
	withRegistry(t)
	Register(Spec{Type: "x", Kind: KindSource})
	// The same name of the other kind is a different connector.
	Register(Spec{Type: "x", Kind: KindSink})

	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("second Register of source \"x\" did not panic")
		}
		if msg, _ := r.(string); !strings.Contains(msg, `source "x" registered twice`) {
			t.Fatalf("panic = %v, want it to name the duplicate", r)
		}
	}()
	Register(Spec{Type: "x", Kind: KindSource})
}

func TestRegister_InvalidKind_Panics(t *testing.T) {
	withRegistry(t)
	for _, k := range []Kind{0, 99, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register with Kind %d did not panic", int(k))
				}
			}()
			Register(Spec{Type: "y", Kind: k})
		}()
	}
	if _, ok := Lookup(KindSink, "y"); ok {
		t.Fatal("a spec with an invalid kind was registered as a sink")
	}
}

func TestLookup_Unknown(t *testing.T) {
	tests := []struct {
		kind Kind
		typ  string
	}{
		{KindSource, "nope"},
		{KindSource, "stdout"}, // a sink, not a source
		{KindSink, "generate"}, // a source, not a sink
		{KindSink, ""},
	}
	for _, tt := range tests {
		if _, ok := Lookup(tt.kind, tt.typ); ok {
			t.Errorf("Lookup(%v, %q) found a spec", tt.kind, tt.typ)
		}
	}
}

func TestTypes_Sorted(t *testing.T) {
	withRegistry(t)
	for _, typ := range []string{"zeta", "alpha", "mid"} {
		Register(Spec{Type: typ, Kind: KindSource})
	}
	Register(Spec{Type: "sinky", Kind: KindSink})
	if got, want := Types(KindSource), []string{"alpha", "mid", "zeta"}; !slices.Equal(got, want) {
		t.Fatalf("Types(source) = %q, want %q", got, want)
	}
	if got, want := Types(KindSink), []string{"sinky"}; !slices.Equal(got, want) {
		t.Fatalf("Types(sink) = %q, want %q", got, want)
	}
}

func TestRegistry_Concurrent(t *testing.T) {
	withRegistry(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			Register(Spec{Type: string(rune('a' + i)), Kind: KindSink})
		}()
		go func() {
			defer wg.Done()
			Types(KindSink)
			Lookup(KindSink, "a")
		}()
	}
	wg.Wait()
	if got := Types(KindSink); len(got) != 8 {
		t.Fatalf("Types(sink) = %q, want 8 types", got)
	}
}

func TestKind_String(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{KindSource, "source"},
		{KindSink, "sink"},
		{0, "Kind(0)"},
		{99, "Kind(99)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.k), got, tt.want)
		}
	}
}

type stubSource struct{}

func (stubSource) Read(context.Context, Emitter) error { return nil }
func (stubSource) Close() error                        { return nil }

type stubSink struct{ discard }

func TestBuildSource_Error_Wrapped(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		build   func(any, Env) (any, error)
		wantErr string
	}{
		{"ok", func(any, Env) (any, error) { return stubSource{}, nil }, ""},
		{"error", func(any, Env) (any, error) { return nil, errBoom }, `source "in" (stub): boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := BuildSource(Spec{Type: "stub", Kind: KindSource, Build: tt.build}, nil, Env{Name: "in"})
			if tt.wantErr == "" {
				if err != nil || src == nil {
					t.Fatalf("BuildSource = %v, %v; want a source", src, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errBoom) {
				t.Fatalf("BuildSource error = %v, want %q wrapping errBoom", err, tt.wantErr)
			}
		})
	}
}

func TestBuildSink_Error_Wrapped(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		build   func(any, Env) (any, error)
		wantErr string
	}{
		{"ok", func(any, Env) (any, error) { return stubSink{}, nil }, ""},
		{"error", func(any, Env) (any, error) { return nil, errBoom }, `sink "out" (stub): boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snk, err := BuildSink(Spec{Type: "stub", Kind: KindSink, Build: tt.build}, nil, Env{Name: "out"})
			if tt.wantErr == "" {
				if err != nil || snk == nil {
					t.Fatalf("BuildSink = %v, %v; want a sink", snk, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errBoom) {
				t.Fatalf("BuildSink error = %v, want %q wrapping errBoom", err, tt.wantErr)
			}
		})
	}
}

// collector is a fake Emitter that keeps every batch and reject. Emit and
// Reject fail with ctx.Err() once ctx is done, as the Emitter contract says.
type collector struct {
	mu      sync.Mutex
	batches [][]*record.Record
	// payloadsAtEmit holds copies of the payloads as they were when emitted,
	// to prove later reads do not overwrite them.
	payloadsAtEmit []string
	rejects        []rejected
	// afterEmit, when set, runs after each Emit is recorded.
	afterEmit func(c *collector)
	// ignoreCtx makes Emit and Reject accept records after ctx is done.
	ignoreCtx bool
}

type rejected struct {
	raw    string
	origin string
	err    error
}

func (c *collector) Emit(ctx context.Context, batch []*record.Record) error {
	if err := ctx.Err(); err != nil && !c.ignoreCtx {
		return err
	}
	c.mu.Lock()
	c.batches = append(c.batches, batch)
	for _, r := range batch {
		c.payloadsAtEmit = append(c.payloadsAtEmit, string(r.Payload))
	}
	c.mu.Unlock()
	if c.afterEmit != nil {
		c.afterEmit(c)
	}
	return nil
}

func (c *collector) Reject(ctx context.Context, raw []byte, origin string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !c.ignoreCtx {
		return cerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejects = append(c.rejects, rejected{string(raw), origin, err})
	return nil
}

func (c *collector) records() []*record.Record {
	var out []*record.Record
	for _, b := range c.batches {
		out = append(out, b...)
	}
	return out
}

func (c *collector) payloads() []string {
	var out []string
	for _, r := range c.records() {
		out = append(out, string(r.Payload))
	}
	return out
}
