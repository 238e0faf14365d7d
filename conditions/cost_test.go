package conditions

import (
	"errors"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// replace9 chains .replace("a", "aaaaaaaaaa") nine times: each step can
// make the string ten times longer.
var replace9 = strings.Repeat(`.replace("a", "aaaaaaaaaa")`, 9)

func TestEnv_Compile_CostLimit(t *testing.T) {
	tests := []struct {
		expr   string
		reject bool
		col    int // of the error, 1-based, when rejected
	}{
		{`record.payload.amount > 500`, false, 0},
		{`record.metadata["type"] == "x" && record.payload.user.age > 30`, false, 0},
		{`record.payload.items.exists(i, i.sku == "x")`, false, 0},
		{`record.payload.items.filter(i, i.price > 10).size() > 2`, false, 0},
		{`record.payload.user.tags.map(t, t + "!") == ["x!", "y!"]`, false, 0},
		{`(record.payload.a + record.payload.b + record.payload.c).matches("^x.*y$")`, false, 0},
		{`record.metadata.exists(k, k.startsWith("x-"))`, false, 0},
		{`record.payload.s` + replace9 + `.size() > 0`, true, 0},
		{`"a"` + replace9 + ` == "b"`, true, 0},
		{`record.payload.items.all(x, record.payload.items.exists(y, x == y))`, true, 0},
		{`record.key == "k" && record.payload.orders.exists(o, o.items.exists(i, i.sku == "x"))`, true, 0},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := env.Compile(tt.expr, Source{File: "p.yaml", Line: 3, Col: 9})
			if !tt.reject {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !strings.Contains(ce.Msg, "exceeds the cost limit 1000000") || ce.Line != 3 || ce.Snippet == "" {
				t.Fatalf("err = %v, want a cost error at line 3 with a snippet", err)
			}
			// An unlimited Env accepts it.
			if _, err := newEnvWith(t, WithCostLimit(0)).Compile(tt.expr, Source{}); err != nil {
				t.Fatalf("WithCostLimit(0): %v", err)
			}
		})
	}
}

// TestEnv_Compile_CostLimitPosition checks that the error points at the
// smallest part of the expression that is too costly: the replace whose
// result can grow past the limit, the outer comprehension.
func TestEnv_Compile_CostLimitPosition(t *testing.T) {
	tests := []struct {
		expr string
		at   string // the error's column is where this text starts
	}{
		{`record.key == "k" || record.payload.items.all(x, record.payload.items.exists(y, x == y))`, `.all(`},
		{`size(record.payload.s` + replace9 + `) > 0`, `.replace(`},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := env.Compile(tt.expr, Source{})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if want := strings.Index(tt.expr, tt.at) + 1; ce.Col < want || ce.Col >= len(tt.expr) {
				t.Fatalf("error at column %d, want at or after %d (%q):\n%v", ce.Col, want, tt.at, err)
			}
		})
	}
}

func TestEnv_CompileValue_CostLimit(t *testing.T) {
	env := newEnv(t)
	if _, err := env.CompileValue(`record.payload.s`+replace9, Source{}); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("err = %v, want a cost error", err)
	}
	if _, err := env.CompileValue(`record.payload.s.replace("a", "b")`, Source{}); err != nil {
		t.Fatal(err)
	}
}

// listPayload is {"items":[0,1,...,n-1]}.
func listPayload(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("1")
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func TestProgram_Eval_CostLimit(t *testing.T) {
	big := listPayload(200_000) // far beyond what the estimate assumes
	tests := []struct {
		name  string
		env   func(t *testing.T) *Env
		expr  string
		rec   *record.Record
		limit bool // stopped by the limit
		want  bool // the result when not stopped
	}{
		{"comprehension over a large payload list", func(t *testing.T) *Env { return newEnv(t) },
			`record.payload.items.exists(i, i == 2)`, record.New("", big), true, false},
		{"same, no limit", func(t *testing.T) *Env { return newEnvWith(t, WithCostLimit(0)) },
			`record.payload.items.exists(i, i == 2)`, record.New("", big), false, false},
		{"same, small list", func(t *testing.T) *Env { return newEnv(t) },
			`record.payload.items.exists(i, i == 2)`, record.New("", listPayload(100)), false, false},
		{"nested comprehension", smallSizesEnv,
			`record.payload.items.all(x, !record.payload.items.exists(y, y == 2))`, record.New("", listPayload(2_000)), true, false},
		{"nested comprehension, small list", smallSizesEnv,
			`record.payload.items.all(x, !record.payload.items.exists(y, y == 2))`, record.New("", listPayload(10)), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.env(t).Compile(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			ok, err := p.Eval(tt.rec)
			if !tt.limit {
				if err != nil || ok != tt.want {
					t.Fatalf("got %v, %v; want %v, nil", ok, err, tt.want)
				}
				return
			}
			var ee *EvalError
			if !errors.Is(err, ErrCostLimit) || !errors.As(err, &ee) || !strings.Contains(err.Error(), "cost limit") {
				t.Fatalf("got %v, %v; want an *EvalError wrapping ErrCostLimit", ok, err)
			}
		})
	}
}

func TestValueProgram_EvalString_CostLimit(t *testing.T) {
	p, err := newEnv(t).CompileValue(`string(record.payload.items.filter(i, i == 1).size())`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.EvalString(record.New("", listPayload(200_000))); !errors.Is(err, ErrCostLimit) {
		t.Fatalf("err = %v, want ErrCostLimit", err)
	}
	if s, err := p.EvalString(record.New("", listPayload(3))); s != "3" || err != nil {
		t.Fatalf("got %q, %v; want 3", s, err)
	}
}

// smallSizesEnv assumes records of a few bytes, so that an expression
// the default estimate rejects compiles and meets the runtime limit.
func smallSizesEnv(t *testing.T) *Env {
	env := newEnv(t)
	env.sizes = sizeEstimator{value: 8, elem: 8}
	return env
}

func TestEnv_CostLimit(t *testing.T) {
	if got := newEnv(t).CostLimit(); got != DefaultCostLimit {
		t.Fatalf("default CostLimit() = %d, want %d", got, DefaultCostLimit)
	}
	if got := newEnvWith(t, WithCostLimit(42)).CostLimit(); got != 42 {
		t.Fatalf("CostLimit() = %d, want 42", got)
	}
}

func newEnvWith(t testing.TB, opts ...EnvOption) *Env {
	t.Helper()
	env, err := NewEnv(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestEnv_checkCost_Tracking(t *testing.T) {
	tests := []struct {
		expr  string
		track bool
	}{
		{`record.payload.amount > 500`, false},
		{`record.payload.user.name == "x" && record.metadata["type"] != "y"`, false},
		{`(record.payload.a + record.payload.b).matches("^x")`, false},
		{`record.payload.s.replace("a", "b") == "c"`, false},
		{`record.payload.items.exists(i, i == 1)`, true},
		{`size(record.payload.items.filter(i, i > 1)) > 0`, true},
		{`record.payload.s.replace("a", "aa").replace("a", "aa") == "x"`, false},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			a, iss := env.cel.Compile(tt.expr)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			track, err := env.checkCost(tt.expr, Source{}, a)
			if err != nil || track != tt.track {
				t.Fatalf("checkCost = %v, %v; want %v, nil", track, err, tt.track)
			}
		})
	}
	if track, err := newEnvWith(t, WithCostLimit(0)).checkCost("x", Source{}, nil); track || err != nil {
		t.Fatalf("no limit: checkCost = %v, %v; want false, nil", track, err)
	}
}
