package conditions

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/conveyor-etl/conveyor-wasm/conditions/internal/jsonscan"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func TestFastPath_MatchesInterpreter(t *testing.T) {
	tests := []struct {
		expr string
		fast bool
	}{
		{`record.metadata["type"] == "user_event"`, true},
		{`"user_event" == record.metadata["type"]`, true},
		{`record.metadata["type"] != "user_event"`, true},
		{`record.key == "k1"`, true},
		{`"k1" != record.key`, true},
		{`record.source == "kafka"`, true},
		{`"type" in record.metadata`, true},
		{`record.metadata["type"] == record.key`, false},
		{`record.metadata.type == "user_event"`, true},
		{`has(record.metadata.type)`, false},
		{`record.payload.a == "x"`, true},
		{`"x" in record.payload`, false},
		{`record.key.startsWith("k")`, false},
	}
	recs := []*record.Record{record.New("k1", nil), record.New("k2", nil), record.New("k1", nil)}
	recs[0].Metadata.Set("type", "user_event")
	recs[0].Source = "kafka"
	recs[1].Metadata.Set("type", "other")
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := env.Compile(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if (p.fast != nil) != tt.fast {
				t.Fatalf("fast path taken = %v, want %v", p.fast != nil, tt.fast)
			}
			slow := *p
			slow.fast = nil
			for i, r := range recs {
				r.Payload = []byte(`{"a":"x"}`)
				gotOK, gotErr := p.Eval(r)
				wantOK, wantErr := slow.Eval(r)
				if gotOK != wantOK || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("record %d: fast = %v, %v; interpreter = %v, %v", i, gotOK, gotErr, wantOK, wantErr)
				}
				if w, werr := p.EvalWatermark(r, 1); w != gotOK || fmt.Sprint(werr) != fmt.Sprint(gotErr) {
					t.Fatalf("record %d: EvalWatermark differs from Eval", i)
				}
			}
		})
	}
}

// TestFastPath_PayloadMatchesInterpreter compares the payload scan with
// the interpreter on payloads of every shape: found, missing, other types,
// escapes, nesting, null, not JSON, and an already parsed payload.
func TestFastPath_PayloadMatchesInterpreter(t *testing.T) {
	exprs := []struct {
		expr string
		fast bool
	}{
		{`record.payload.type == "user_event"`, true},
		{`"user_event" != record.payload.type`, true},
		{`record.payload.user.country == "NZ"`, true},
		{`record.payload.active == true`, true},
		{`false == record.payload.active`, true},
		{`record.payload.active != false`, true},
		{`record.payload.active`, true},
		{`record.payload.user.vip`, true},
		{`record.payload.n == 1`, true},
		{`record.payload.n == record.payload.m`, false},
		{`record.payload["type"] == "user_event"`, false},
	}
	payloads := []string{
		`{"type":"user_event","active":true,"user":{"country":"NZ","vip":false},"n":1}`,
		`{"type":"click","active":false,"user":{"country":"GB","vip":true}}`,
		`{"type":"user\u005fevent","active":"yes","user":{"country":null}}`,
		`{"type":1,"active":1,"user":"flat"}`,
		`{"other":1}`,
		`{"user":{}}`,
		`[1,2,3]`,
		`"just a string"`,
		`not json`,
		`{"type":"user_event","active":true,"user":{"country":"NZ","vip":true}`,
		``,
	}
	env := newEnv(t)
	for _, c := range exprs {
		t.Run(c.expr, func(t *testing.T) {
			p, err := env.Compile(c.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if (p.fast != nil) != c.fast {
				t.Fatalf("fast path taken = %v, want %v", p.fast != nil, c.fast)
			}
			slow := *p
			slow.fast = nil
			for _, pl := range payloads {
				for _, parsed := range []bool{false, true} {
					r, ref := record.New("", []byte(pl)), record.New("", []byte(pl))
					if parsed {
						r.JSON()
					} else if r.ValidJSON() {
						r.MarkValidJSON() // as a source does; only then is the scan used
					}
					gotOK, gotErr := p.Eval(r)
					wantOK, wantErr := slow.Eval(ref)
					if gotOK != wantOK || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
						t.Fatalf("payload %s (parsed %v): fast = %v, %v; interpreter = %v, %v", pl, parsed, gotOK, gotErr, wantOK, wantErr)
					}
				}
			}
		})
	}
}

func TestFastPath_PayloadScanSkipsTheParse(t *testing.T) {
	env := newEnv(t)
	p, err := env.Compile(`record.payload.type == "user_event"`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	r := record.New("", []byte(`{"type":"user_event","n":1}`))
	r.MarkValidJSON()
	if ok, err := p.Eval(r); !ok || err != nil || r.Parsed() {
		t.Fatalf("validated payload: %v, %v, parsed %v (want true, nil, not parsed)", ok, err, r.Parsed())
	}
	u := record.New("", []byte(`{"type":"user_event","n":1}`))
	if ok, err := p.Eval(u); !ok || err != nil || !u.Parsed() {
		t.Fatalf("unvalidated payload: %v, %v, parsed %v (want true, nil, parsed)", ok, err, u.Parsed())
	}
}

// scanValues are JSON values of every shape a scanned field can hold.
var scanValues = []string{
	`500`, `501`, `499`, `0`, `-0`, `-0.0`, `0.0`, `-1`, `500.0`, `500.5`, `499.99999999999999999`, `5e2`, `1e3`,
	`1e300`, `-1e300`, `1e400`, `1e-400`, `9007199254740992`, `9007199254740993`, `-9007199254740993`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `-9223372036854775809`,
	`18446744073709551615`, `18446744073709551616`, `123456789012345678901234567890`,
	`"500"`, `"DE"`, `"FR"`, `"de"`, `"D\u0045"`, `"\ud83d\ude00"`, `"\ud800"`, `"a\"b\\\/\b\f\n\r\t"`, `"\u00e9"`, `""`,
	`"` + strings.Repeat("x", 200) + `\n"`, `"é"`,
	`null`, `true`, `false`, `{}`, `{"amount":501}`, `[]`, `[500]`, `["DE"]`,
}

// scanPayloads places every value of scanValues in every field the
// expressions read, and adds documents of other shapes.
func scanPayloads() []string {
	out := []string{
		`{"amount":600,"country":"DE","flag":true,"a":{"amount":600}}`,
		`{"amount":100,"country":"FR","flag":false}`,
		`{"amount":1,"amount":600,"country":"DE","country":"XX"}`,
		`{"\u0061mount":501,"country":"D\u0045","fl\u0061g":true}`,
		`{"x":{"amount":1},"amount":600,"y":[{"country":"DE"}],"country":"FR"}`,
		`{"x":[{"amount":1}],"a":{"b":{"amount":2}},"amount":600}`,
		`{"other":1}`, `{"a":{}}`, `{"a":[]}`, `{"a":"flat"}`,
		`[1,2,3]`, `"just a string"`, `500`, `null`, `not json`, `{"amount":600`, ``, `{"amount":01}`,
	}
	for _, v := range scanValues {
		out = append(out,
			`{"amount":`+v+`,"country":`+v+`,"flag":`+v+`,"a":{"amount":`+v+`}}`,
			`{"country":"DE","flag":true,"amount":`+v+`}`,
			`{"flag":false,"amount":`+v+`}`,
		)
	}
	return out
}

// scanExprs are the expressions the payload scan decides (fast true) and a
// few it must leave alone.
var scanExprs = []struct {
	expr string
	fast bool
}{
	{`record.payload.amount > 500`, true},
	{`record.payload.amount < 500`, true},
	{`record.payload.amount <= 500`, true},
	{`record.payload.amount >= 500`, true},
	{`record.payload.amount == 500`, true},
	{`record.payload.amount != 500`, true},
	{`500 < record.payload.amount`, true},
	{`500 >= record.payload.amount`, true},
	{`500 == record.payload.amount`, true},
	{`record.payload.amount > 500u`, true},
	{`record.payload.amount == 500u`, true},
	{`record.payload.amount <= 18446744073709551615u`, true},
	{`record.payload.amount > 500.0`, true},
	{`record.payload.amount >= 500.5`, true},
	{`record.payload.amount == 500.0`, true},
	{`record.payload.amount == 0`, true},
	{`record.payload.amount == -0.0`, true},
	{`record.payload.amount < -0.0`, true},
	{`record.payload.amount == 9007199254740992`, true},
	{`record.payload.amount == 9007199254740993`, true},
	{`record.payload.amount > 9007199254740992.0`, true},
	{`record.payload.amount == 9223372036854775807`, true},
	{`record.payload.amount >= 9223372036854775807`, true},
	{`record.payload.amount < -9223372036854775808`, true},
	{`record.payload.amount > 1e300`, true},
	{`record.payload.amount == 1e300`, true},
	{`record.payload.amount == "500"`, true},
	{`record.payload.amount != "500"`, true},
	{`record.payload.country == "DE"`, true},
	{`record.payload.country != "DE"`, true},
	{`"DE" != record.payload.country`, true},
	{`record.payload.country < "E"`, true},
	{`record.payload.country >= "D"`, true},
	{`record.payload.country == "é"`, true},
	{`record.payload.country == "\U0001f600"`, true},
	{`record.payload.country in ["DE", "FR"]`, true},
	{`record.payload.country in ["DE", 500, null, true, 1.5, 501u]`, true},
	{`record.payload.amount in [500, 600.0, 499u]`, true},
	{`record.payload.amount in []`, true},
	{`record.payload.amount == null`, true},
	{`null != record.payload.amount`, true},
	{`record.payload.flag == true`, true},
	{`record.payload.flag != false`, true},
	{`record.payload.flag < true`, true},
	{`record.payload.flag`, true},
	{`!record.payload.flag`, true},
	{`record.payload.a.amount > 500`, true},
	{`record.payload.amount > 500 && record.payload.country == "DE"`, true},
	{`record.payload.amount > 500 || record.payload.country == "DE"`, true},
	{`!(record.payload.amount > 500) && record.payload.country in ["DE", "FR"]`, true},
	{`record.payload.flag || record.payload.amount < 0`, true},
	{`record.payload.flag && record.payload.amount < 0`, true},
	{`record.payload.amount > 500 && record.payload.amount < 1000 && record.payload.country != "XX"`, true},
	{`(record.payload.amount > 500 || record.payload.flag) && !(record.payload.country == "FR")`, true},
	{`record.key == "k" && record.payload.amount >= 1`, true},
	{`record.metadata["type"] == "x" || record.payload.amount > 500`, true},
	{`record.metadata["missing"] == "x" && record.payload.amount > 500`, true},
	{`record.metadata["missing"] == "x" || record.payload.amount > 500`, true},
	{`"type" in record.metadata && !record.payload.flag`, true},
	{`!(record.metadata["missing"] == "x")`, true},
	{`record.payload.amount > record.payload.a.amount`, false},
	{`record.payload.amount + 1 > 500`, false},
	{`record.payload.amount > 500 && record.payload.country.startsWith("D")`, false},
	{`record.payload.country in ["DE", record.key]`, false},
	{`record.payload["amount"] > 500`, false},
	{`record.payload.amount > 500 ? true : false`, false},
}

// TestFastPath_ScanMatchesInterpreter compares the payload scan with the
// interpreter on every expression shape it decides and payloads of every
// shape: each value type, numbers at the edges of int64, uint64 and the
// exactly representable doubles, negative zero, escapes, duplicate and
// escaped keys, nesting, missing fields, not JSON, and parsed payloads.
func TestFastPath_ScanMatchesInterpreter(t *testing.T) {
	env := newEnv(t)
	payloads := scanPayloads()
	for _, c := range scanExprs {
		t.Run(c.expr, func(t *testing.T) {
			p, err := env.Compile(c.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if (p.fast != nil) != c.fast {
				t.Fatalf("fast path taken = %v, want %v", p.fast != nil, c.fast)
			}
			for _, pl := range payloads {
				checkFastMatches(t, p, pl)
			}
		})
	}
}

// checkFastMatches evaluates p on payload pl with the fast path (validated
// and unparsed, validated and parsed, not validated) and without, with and
// without a metadata entry, and fails if any result or error differs.
func checkFastMatches(t *testing.T, p *Program, pl string) {
	t.Helper()
	slow := *p
	slow.fast = nil
	for _, meta := range []bool{false, true} {
		for _, mode := range []string{"validated", "parsed", "unvalidated"} {
			r, ref := record.New("k", []byte(pl)), record.New("k", []byte(pl))
			if meta {
				r.Metadata.Set("type", "x")
				ref.Metadata.Set("type", "x")
			}
			switch mode {
			case "validated":
				if r.ValidJSON() {
					r = record.New("k", []byte(pl)) // a fresh record, marked as a source does
					if meta {
						r.Metadata.Set("type", "x")
					}
					r.MarkValidJSON()
				}
			case "parsed":
				r.JSON()
			}
			gotOK, gotErr := p.Eval(r)
			wantOK, wantErr := slow.Eval(ref)
			if gotOK != wantOK || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("payload %s (%s, metadata %v): fast = %v, %v; interpreter = %v, %v",
					pl, mode, meta, gotOK, gotErr, wantOK, wantErr)
			}
		}
	}
}

// TestFastPath_ScanDecidesWithoutParsing checks that the scan decides the
// expressions it recognizes on a validated payload without parsing it and
// without allocating, including where one side of && or || cannot be
// decided but the other side decides the whole.
func TestFastPath_ScanDecidesWithoutParsing(t *testing.T) {
	tests := []struct {
		expr, payload string
		want          bool
	}{
		{`record.payload.amount > 500`, `{"id":"a","amount":501,"country":"DE"}`, true},
		{`record.payload.amount > 500`, `{"id":"a","amount":500.0}`, false},
		{`record.payload.amount >= 9007199254740993`, `{"amount":9007199254740993}`, true},
		{`record.payload.amount > 9007199254740992`, `{"amount":9007199254740993}`, true},
		{`record.payload.amount < 1e300`, `{"amount":-1e300}`, true},
		{`record.payload.amount == 0`, `{"amount":-0}`, true},
		{`record.payload.country in ["DE", "FR"]`, `{"country":"FR"}`, true},
		{`record.payload.country in ["DE", "FR"]`, `{"country":"F\u0052"}`, true},
		{`record.payload.country != "DE"`, `{"country":7}`, true},
		{`record.payload.amount > 500 && record.payload.country == "DE"`, `{"amount":1}`, false},
		{`record.payload.country == "DE" && record.payload.amount > 500`, `{"amount":1}`, false},
		{`record.payload.missing > 1 || record.payload.amount > 500`, `{"amount":501}`, true},
		{`record.metadata["missing"] == "x" && record.payload.amount > 500`, `{"amount":1}`, false},
		{`!(record.payload.amount > 500)`, `{"amount":1}`, true},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.payload, func(t *testing.T) {
			p, err := env.Compile(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			r := record.New("k", []byte(tt.payload))
			r.MarkValidJSON()
			ok, err := p.Eval(r)
			if ok != tt.want || err != nil || r.Parsed() {
				t.Fatalf("got %v, %v, parsed %v; want %v, nil, not parsed", ok, err, r.Parsed(), tt.want)
			}
			if n := testing.AllocsPerRun(100, func() { p.Eval(r) }); n != 0 {
				t.Fatalf("%v allocations per evaluation, want 0", n)
			}
		})
	}
}

// TestOrder_MatchesCompare checks the scan's ordering against cel-go's
// Compare for every pair of scanned and literal numbers, strings and
// bools.
func TestOrder_MatchesCompare(t *testing.T) {
	nums := []float64{0, math.Copysign(0, -1), 1, -1, 500, 500.5, 1 << 53, 1<<53 + 2, 1 << 63, -1 << 63, 1 << 64, 1e300, -1e300, math.Inf(1), math.Inf(-1)}
	ints := []int64{0, 1, -1, 500, 1<<53 + 1, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1}
	uints := []uint64{0, 1, 500, 1<<53 + 1, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64}
	var scanned []jsonscan.Value
	var lits []ref.Val
	for _, f := range nums {
		scanned = append(scanned, jsonscan.Value{Kind: jsonscan.Double, Float: f})
		lits = append(lits, types.Double(f))
	}
	for _, i := range ints {
		scanned = append(scanned, jsonscan.Value{Kind: jsonscan.Int, Int: i})
		lits = append(lits, types.Int(i))
	}
	for _, u := range uints {
		lits = append(lits, types.Uint(u))
	}
	for _, s := range []string{"", "a", "b", "ab", "é"} {
		scanned = append(scanned, jsonscan.Value{Kind: jsonscan.String, Str: s})
		lits = append(lits, types.String(s))
	}
	for _, b := range []bool{false, true} {
		scanned = append(scanned, jsonscan.Value{Kind: jsonscan.Bool, Bool: b})
		lits = append(lits, types.Bool(b))
	}
	scanned = append(scanned, jsonscan.Value{Kind: jsonscan.Null}, jsonscan.Value{Kind: jsonscan.Object})
	lits = append(lits, types.NullValue)
	for _, v := range scanned {
		var val ref.Val
		switch v.Kind {
		case jsonscan.Double:
			val = types.Double(v.Float)
		case jsonscan.Int:
			val = types.Int(v.Int)
		case jsonscan.String:
			val = types.String(v.Str)
		case jsonscan.Bool:
			val = types.Bool(v.Bool)
		case jsonscan.Null:
			val = types.NullValue
		}
		for _, lit := range lits {
			got, ok := order(&v, lit)
			var want ref.Val = types.NewErr("no ordering")
			if c, isCmp := val.(traits.Comparer); isCmp {
				want = c.Compare(lit)
			}
			if wantInt, isInt := want.(types.Int); isInt != ok || ok && int(wantInt) != got {
				t.Errorf("order(%v, %v) = %d, %v; Compare = %v", val, lit, got, ok, want)
			}
			if val != nil {
				if eq := equal(&v, lit); eq != (types.Equal(val, lit) == types.True) {
					t.Errorf("equal(%v, %v) = %v; types.Equal = %v", val, lit, eq, types.Equal(val, lit))
				}
			}
		}
	}
}
