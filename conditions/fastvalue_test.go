package conditions

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// arithPayloads cover every way the fast path can be right or must fall
// back: ints, doubles, mixed types, strings, null, bools, missing
// members, overflow, zero divisors, NaN and infinities, int64 bounds,
// numbers CEL reads as doubles, nested members, escaped and duplicate
// keys, payloads that are not objects.
var arithPayloads = []string{
	`{"id":1,"price":2.5,"qty":3,"pad":"xxxxxxxx"}`,
	`{"price":0.00,"qty":1}`,
	`{"price":-1.25,"qty":-4}`,
	`{"price":3,"qty":4}`,
	`{"price":2.5,"qty":1.5}`,
	`{"price":"2.5","qty":3}`,
	`{"price":null,"qty":3}`,
	`{"price":true,"qty":false}`,
	`{"qty":3}`,
	`{"price":2.5}`,
	`{}`,
	`{"price":1e308,"qty":10}`,
	`{"price":1e-320,"qty":0}`,
	`{"price":-0.0,"qty":-0}`,
	`{"price":9223372036854775807,"qty":2}`,
	`{"price":-9223372036854775808,"qty":-1}`,
	`{"price":9223372036854775808,"qty":1}`,
	`{"price":4611686018427387904,"qty":2}`,
	`{"price":3037000500,"qty":3037000500}`,
	`{"price":-3037000500,"qty":3037000500}`,
	`{"price":1e2,"qty":7}`,
	`{"price":7,"qty":0}`,
	`{"price":0.1,"qty":3}`,
	`{"price":1.5e-7,"qty":1}`,
	`{"price":1e21,"qty":1}`,
	`{"price":9.3e18,"qty":1}`,
	`{"price":-9.3e18,"qty":1}`,
	`{"price":{"amount":2.5},"qty":[3]}`,
	`{"o":{"a":6,"b":{"c":0.5}},"qty":2}`,
	`{"o":{"a":"x"},"qty":2}`,
	`{"pr\u0069ce":2,"price":3,"qty":4}`,
	`{"qty":5,"pr\u0069ce":2,"price":3}`,
	`{"price":2,"price":3,"qty":4,"qty":5}`,
	` { "price" : 2.5 , "qty" : 3 } `,
	`[1,2]`,
	`"text"`,
	`12`,
	`null`,
}

var arithExprs = []struct {
	expr string
	fast bool // compiles to the fast path
}{
	{`record.payload.price * double(record.payload.qty)`, true},
	{`record.payload.price * record.payload.qty`, true},
	{`record.payload.price + record.payload.qty`, true},
	{`record.payload.price - record.payload.qty`, true},
	{`record.payload.price / record.payload.qty`, true},
	{`record.payload.price % record.payload.qty`, true},
	{`-record.payload.price`, true},
	{`-(record.payload.qty * 2)`, true},
	{`record.payload.qty * 2`, true},
	{`record.payload.qty + 1 - 3`, true},
	{`record.payload.price * 1.1`, true},
	{`double(record.payload.price) / double(record.payload.qty)`, true},
	{`int(record.payload.price) * record.payload.qty`, true},
	{`int(record.payload.price * 100.0)`, true},
	{`double(record.payload.price) * double(record.payload.qty) + 0.5`, true},
	{`record.payload.o.a * record.payload.qty`, true},
	{`record.payload.o.b.c * double(record.payload.qty)`, true},
	{`record.payload.price * double(record.payload.price)`, true},
	{`record.payload.price`, true},
	{`double(record.payload.qty)`, true},
	{`int(record.payload.qty)`, true},
	{`record.payload.a + record.payload.b + record.payload.c + record.payload.d + record.payload.e + record.payload.f + record.payload.g + record.payload.h`, true},
	{`record.payload.a + record.payload.b + record.payload.c + record.payload.d + record.payload.e + record.payload.f + record.payload.g + record.payload.h + record.payload.i`, false},
	{`2 * 3`, false}, // no payload field
	{`uint(record.payload.qty)`, false},
	{`record.payload.qty * 2u`, false},
	{`record.payload["price"] * 2.0`, false},
	{`string(record.payload.qty)`, false},
	{`record.payload.price > 2.0 ? 1 : 0`, false},
	{`math.abs(record.payload.price)`, false},
	{`record.payload.price * double(size(record.key))`, false},
}

// TestValueProgram_EvalJSON_ArithMatchesInterpreter is the differential
// test of the arithmetic fast path: on every payload, the fast path's
// JSON (or its fallback's error) equals the interpreter's alone.
func TestValueProgram_EvalJSON_ArithMatchesInterpreter(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	for _, tt := range arithExprs {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			v, err := env.CompileJSON(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if (v.arith != nil) != tt.fast {
				t.Fatalf("fast path = %v, want %v", v.arith != nil, tt.fast)
			}
			slow := *v
			slow.arith = nil
			for _, p := range arithPayloads {
				checkArith(t, v, &slow, p)
			}
		})
	}
}

func checkArith(t *testing.T, fast, slow *ValueProgram, payload string) {
	t.Helper()
	r := record.New("k", []byte(payload))
	r.MarkValidJSON()
	got, gotErr := fast.EvalJSON(r, []byte("x"))
	want, wantErr := slow.EvalJSON(record.New("k", []byte(payload)), []byte("x"))
	if string(got) != string(want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("on %s:\nfast        %s, %v\ninterpreter %s, %v", payload, got, gotErr, want, wantErr)
	}
}

// TestValueProgram_EvalJSON_ArithDecides: where the fast path decides it
// reads the payload without parsing it; where it cannot (each case that
// CEL reports as an error, among others) it leaves the record to the
// interpreter, which gives CEL's error.
func TestValueProgram_EvalJSON_ArithDecides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, payload string
		want          string // the JSON, or the error's text
		fast          bool   // decided without the interpreter
	}{
		{`record.payload.price * double(record.payload.qty)`, `{"price":2.5,"qty":3}`, `7.5`, true},
		{`record.payload.price * double(record.payload.qty)`, `{"price":0.1,"qty":3}`, `0.30000000000000004`, true},
		{`record.payload.price * double(record.payload.qty)`, `{"price":2,"qty":3}`, `no such overload`, false},
		{`record.payload.price * double(record.payload.qty)`, `{"qty":3}`, `no such key: price`, false},
		{`record.payload.price * double(record.payload.qty)`, `{"price":"2.5","qty":3}`, `no such overload`, false},
		{`record.payload.price * double(record.payload.qty)`, `{"price":null,"qty":3}`, `no such overload`, false},
		{`record.payload.price * double(record.payload.qty)`, `{"price":1e308,"qty":10}`, `double +Inf cannot be written as JSON`, false},
		{`record.payload.qty * 2`, `{"qty":21}`, `42`, true},
		{`record.payload.qty * 2`, `{"qty":9223372036854775807}`, `integer overflow`, false},
		{`record.payload.qty / record.payload.n`, `{"qty":1,"n":0}`, `division by zero`, false},
		{`record.payload.qty % record.payload.n`, `{"qty":1,"n":0}`, `modulus by zero`, false},
		{`-record.payload.qty`, `{"qty":-9223372036854775808}`, `integer overflow`, false},
		{`int(record.payload.price)`, `{"price":1e19}`, `integer overflow`, false},
		{`int(record.payload.price)`, `{"price":-2.75}`, `-2`, true},
		{`double(record.payload.qty) / 4.0`, `{"qty":3}`, `0.75`, true},
		{`record.payload.price * 1.0`, `{"price":1e21}`, `1e+21`, true},
		{`record.payload.price * 1.0`, `{"price":1.5e-7}`, `1.5e-7`, true},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr+" on "+tt.payload, func(t *testing.T) {
			t.Parallel()
			v, err := env.CompileJSON(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			r := record.New("", []byte(tt.payload))
			r.MarkValidJSON()
			if _, ok := v.arith.appendJSON(r, nil); ok != tt.fast {
				t.Fatalf("fast path decided = %v, want %v", ok, tt.fast)
			}
			got, err := v.EvalJSON(r, nil)
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("EvalJSON error %q, want %q", err, tt.want)
				}
				return
			}
			if string(got) != tt.want {
				t.Fatalf("EvalJSON = %s, want %s", got, tt.want)
			}
			if tt.fast && r.Parsed() {
				t.Fatal("the fast path parsed the payload")
			}
		})
	}
}

// TestValueProgram_EvalJSON_ArithNeedsValidatedUnparsed: a payload not
// known to be valid, or parsed already, goes to the interpreter (the scan
// trusts validated bytes; a parse answers as cheaply).
func TestValueProgram_EvalJSON_ArithNeedsValidatedUnparsed(t *testing.T) {
	t.Parallel()
	v, err := newEnv(t).CompileJSON(`record.payload.qty * 2`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	unvalidated := record.New("", []byte(`{"qty":2,`))
	parsed := record.New("", []byte(`{"qty":2}`))
	if _, err := parsed.JSON(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*record.Record{unvalidated, parsed} {
		if _, ok := v.arith.appendJSON(r, nil); ok {
			t.Errorf("fast path decided %s", r.Payload)
		}
	}
	if _, err := v.EvalJSON(unvalidated, nil); err == nil || !strings.Contains(err.Error(), "malformed JSON") {
		t.Errorf("EvalJSON(truncated) error = %v", err)
	}
}

// TestIntOp_MatchesCEL checks the overflow rules at the int64 bounds
// against the interpreter.
func TestIntOp_MatchesCEL(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	edges := []int64{math.MinInt64, math.MinInt64 + 1, -3037000500, -3037000499, -2, -1, 0, 1, 2, 3037000499, 3037000500, math.MaxInt64 - 1, math.MaxInt64}
	for _, op := range []string{"+", "-", "*", "/", "%"} {
		v, err := env.CompileJSON("record.payload.a "+op+" record.payload.b", Source{})
		if err != nil {
			t.Fatal(err)
		}
		slow := *v
		slow.arith = nil
		for _, a := range edges {
			for _, b := range edges {
				checkArith(t, v, &slow, fmt.Sprintf(`{"a":%d,"b":%d}`, a, b))
			}
		}
	}
}

// FuzzValueProgram_EvalJSON_Arith runs the recognized expressions on
// arbitrary valid payloads, fast path against interpreter.
func FuzzValueProgram_EvalJSON_Arith(f *testing.F) {
	for _, p := range arithPayloads {
		f.Add(p)
	}
	env := newEnv(f)
	type pair struct{ fast, slow *ValueProgram }
	var progs []pair
	for _, tt := range arithExprs {
		if !tt.fast {
			continue
		}
		v, err := env.CompileJSON(tt.expr, Source{})
		if err != nil {
			f.Fatal(err)
		}
		slow := *v
		slow.arith = nil
		progs = append(progs, pair{v, &slow})
	}
	f.Fuzz(func(t *testing.T, payload string) {
		if fastjson.Validate(payload) != nil {
			return // the fast path reads only validated payloads
		}
		for _, p := range progs {
			checkArith(t, p.fast, p.slow, payload)
		}
	})
}
