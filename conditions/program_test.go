package conditions

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

const testPayload = `{"user":{"age":36,"name":"Ada","tags":["x","y"]},"count":3,"price":2.5,"big":12345678901234567890,` +
	`"exp":1e3,"neg":-7,"s":"str","esc":"a\"b\u00e9","l":[1,2,"a",{"k":true}],"nul":null,"yes":true,"no":false,"empty":{}}`

func compileT(t testing.TB, expr string) *Program {
	t.Helper()
	p, err := newEnv(t).Compile(expr, Source{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProgram_Eval_Payload(t *testing.T) {
	tests := []string{
		`record.payload.user.age > 30`,
		`record.payload.user.age == 36`,
		`record.payload.user.age == 36.0`,
		`record.payload.user.age > 35.5`,
		`type(record.payload.user.age) == int`,
		`record.payload.count == 3`,
		`record.payload.count + 1 == 4`,
		`record.payload.price > 2`,
		`type(record.payload.price) == double`,
		`record.payload.price * 2.0 == 5.0`,
		`type(record.payload.big) == double`,
		`type(record.payload.exp) == double && record.payload.exp == 1000`,
		`record.payload.neg < 0`,
		`record.payload.s == "str"`,
		`record.payload.esc == "a\"bé"`,
		`record.payload.user.name.startsWith("A")`,
		`"y" in record.payload.user.tags`,
		`size(record.payload.l) == 4`,
		`record.payload.l[3].k`,
		`record.payload.l[1] == 2`,
		`record.payload.l.exists(x, x == "a")`,
		`record.payload.nul == null`,
		`record.payload.yes && !record.payload.no`,
		`size(record.payload.empty) == 0`,
		`has(record.payload.user.age)`,
		`!has(record.payload.user.email)`,
		`"user" in record.payload`,
		`record.payload.?user.?email.orValue("none") == "none"`,
		`record.payload.user.tags == ["x", "y"]`,
		`["x", "y"] == record.payload.user.tags`,
		`record.payload.user == {"age": 36, "name": "Ada", "tags": ["x", "y"]}`,
		`record.payload.user.all(k, k.size() > 2)`,
		`record.payload.user.tags + ["z"] == ["x", "y", "z"]`,
		`record.payload.user.tags.map(t, t + "!") == ["x!", "y!"]`,
		`dyn(record.payload.user) != dyn(record.payload.l)`,
	}
	for _, expr := range tests {
		t.Run(expr, func(t *testing.T) {
			r := record.New("k", []byte(testPayload))
			ok, err := compileT(t, expr).Eval(r)
			if err != nil || !ok {
				t.Fatalf("Eval = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestProgram_Eval_Errors(t *testing.T) {
	tests := []struct {
		expr    string
		payload string
		want    string
	}{
		{`record.payload.user.age > 30`, `{"x":1}`, `condition "record.payload.user.age > 30": no such key: user`},
		{`record.payload.user.age > 30`, `{"user":"ada"}`, `condition "record.payload.user.age > 30": no such key: age`},
		{`record.payload.s > 3`, `{"s":"x"}`, `condition "record.payload.s > 3": no such overload: _>_(string, int)`},
		{`record.payload.n + 1 > 3`, `{"n":1.5}`, `condition "record.payload.n + 1 > 3": no such overload: _+_(double, int)`},
		{`record.payload.s.startsWith("a")`, `{"s":1}`, `condition "record.payload.s.startsWith(\"a\")": no such overload: startsWith(int, string)`},
		{`record.payload.l[5] == 1`, `{"l":[1]}`, `condition "record.payload.l[5] == 1": index out of bounds: 5`},
		{`record.payload.a == 1`, `{"a":`, `condition "record.payload.a == 1": record.payload: malformed JSON: cannot parse JSON: cannot parse object: cannot parse object value: cannot parse empty string; unparsed tail: ""`},
		{`record.metadata["type"] == "x"`, `{}`, `condition "record.metadata[\"type\"] == \"x\"": no such key: type`},
		{`record.event_time > timestamp(0)`, `{}`, `condition "record.event_time > timestamp(0)": record has no event time`},
		{`watermark > timestamp(0)`, `{}`, `condition "watermark > timestamp(0)": no watermark here`},
		{`record.payload.s`, `{"s":"x"}`, `condition "record.payload.s": result is string, not bool`},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.payload, func(t *testing.T) {
			p := compileT(t, tt.expr)
			ok, err := p.Eval(record.New("k", []byte(tt.payload)))
			if ok || err == nil || err.Error() != tt.want {
				t.Fatalf("Eval = %v, %v\nwant error %s", ok, err, tt.want)
			}
			var ee *EvalError
			if !errors.As(err, &ee) || ee.Cond != tt.expr {
				t.Fatalf("error %T is not an *EvalError for the expression", err)
			}
			if p.Evaluate(record.New("k", []byte(tt.payload))) {
				t.Fatal("Evaluate = true on error")
			}
		})
	}
}

func TestProgram_Eval_SentinelErrors(t *testing.T) {
	_, err := compileT(t, `record.event_time > timestamp(0)`).Eval(record.New("", nil))
	if !errors.Is(err, ErrNoEventTime) {
		t.Fatalf("err = %v, want ErrNoEventTime", err)
	}
	_, err = compileT(t, `watermark > timestamp(0)`).EvalWatermark(record.New("", nil), NoWatermark)
	if !errors.Is(err, ErrNoWatermark) {
		t.Fatalf("err = %v, want ErrNoWatermark", err)
	}
}

func TestProgram_Eval_OptionalEventTime(t *testing.T) {
	p := compileT(t, `!record.has_event_time || record.event_time < timestamp("2030-01-01T00:00:00Z")`)
	if ok, err := p.Eval(record.New("", nil)); !ok || err != nil {
		t.Fatalf("without event time: %v, %v", ok, err)
	}
	r := record.New("", nil)
	r.SetTime(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if ok, err := p.Eval(r); ok || err != nil {
		t.Fatalf("late event time: %v, %v", ok, err)
	}
}

func TestProgram_Eval_PayloadParsedOnceAndOnlyWhenRead(t *testing.T) {
	// A malformed payload does not matter to a condition that never reads it.
	r := record.New("k", []byte(`not json`))
	if ok, err := compileT(t, `record.key == "k"`).Eval(r); !ok || err != nil {
		t.Fatalf("Eval = %v, %v", ok, err)
	}
	r = record.New("k", []byte(`{"a":1}`))
	v1, _ := r.JSON()
	if ok, err := compileT(t, `record.payload.a == 1`).Eval(r); !ok || err != nil {
		t.Fatalf("Eval = %v, %v", ok, err)
	}
	if v2, _ := r.JSON(); v1 != v2 {
		t.Fatal("payload was parsed again")
	}
}

func TestProgram_Eval_MetadataChangesSeen(t *testing.T) {
	p := compileT(t, `record.metadata["type"] == "a" && size(record.metadata) == 1`)
	r := record.New("", nil)
	r.Metadata.Set("type", "a")
	if ok, _ := p.Eval(r); !ok {
		t.Fatal("want true")
	}
	r.Metadata.Set("type", "b")
	if ok, _ := p.Eval(r); ok {
		t.Fatal("want false after metadata change")
	}
}

func TestProgram_Eval_Concurrent(t *testing.T) {
	p := compileT(t, `record.payload.n % 2 == 0 && record.metadata["type"] == "even" && watermark < record.event_time`)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := g*1000 + i
				r := record.New("k", fmt.Appendf(nil, `{"n":%d}`, n))
				r.EventTime = int64(n) + 1
				want := n%2 == 0
				if want {
					r.Metadata.Set("type", "even")
				} else {
					r.Metadata.Set("type", "odd")
				}
				ok, err := p.EvalWatermark(r, int64(n))
				if err != nil || ok != want {
					errs <- fmt.Errorf("n=%d: %v, %v", n, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestProgram_String(t *testing.T) {
	src := Source{File: "p.yaml", Line: 3, Col: 4}
	p, err := newEnv(t).Compile(`record.key == "a"`, src)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != `record.key == "a"` || p.Source() != src {
		t.Fatalf("String() = %q, Source() = %v", p.String(), p.Source())
	}
}

func TestEnv_CompileValue_EvalString(t *testing.T) {
	r := record.New("k1", []byte(`{"n":3,"f":2.5,"s":"x","b":true,"big":1e21}`))
	r.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	tests := []struct{ expr, want string }{
		{`record.key + "-" + record.payload.s`, "k1-x"},
		{`record.payload.s`, "x"},
		{`record.payload.n`, "3"},
		{`record.payload.n * 2`, "6"},
		{`record.payload.f`, "2.5"},
		{`record.payload.big`, "1e+21"},
		{`record.payload.b`, "true"},
		{`2u`, "2"},
		{`record.event_time`, "2026-01-02T03:04:05.000000006Z"},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := env.CompileValue(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.EvalString(r)
			if err != nil || got != tt.want {
				t.Fatalf("EvalString = %q, %v; want %q", got, err, tt.want)
			}
			if v.String() != tt.expr {
				t.Fatalf("String() = %q", v.String())
			}
		})
	}
}

func TestEnv_CompileValue_EvalTime(t *testing.T) {
	r := record.New("", []byte(`{"sec":1767225600,"ms":1767225600123,"f":1767225600.5,"iso":"2026-01-01T00:00:00.25Z","bad":"yesterday","huge":1e300,"obj":{}}`))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		expr    string
		want    int64
		wantErr string
	}{
		{expr: `record.payload.sec`, want: base},
		{expr: `double(record.payload.ms) / 1000.0`, want: base + 123_000_000},
		{expr: `record.payload.f`, want: base + 500_000_000},
		{expr: `record.payload.iso`, want: base + 250_000_000},
		{expr: `timestamp(record.payload.iso)`, want: base + 250_000_000},
		{expr: `record.payload.bad`, wantErr: `condition "record.payload.bad": event time: parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"`},
		{expr: `record.payload.huge`, wantErr: `condition "record.payload.huge": event time 1e+300 seconds is out of range`},
		{expr: `record.payload.obj`, wantErr: `condition "record.payload.obj": map value cannot be used as an event time`},
		{expr: `record.payload.nope`, wantErr: `condition "record.payload.nope": no such key: nope`},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := env.CompileValue(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.EvalTime(r)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("EvalTime = %d, %v; want error %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("EvalTime = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestEnv_CompileValue_RejectsUnusableTypes(t *testing.T) {
	_, err := newEnv(t).CompileValue(`[1, 2]`, Source{File: "p.yaml", Line: 5, Col: 10})
	want := "p.yaml:5:10: value must be a string, number, bool or timestamp, got list(int)\n | [1, 2]\n | ^"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	v, err := newEnv(t).CompileValue(`record.payload.l`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.EvalString(record.New("", []byte(`{"l":[1]}`))); err == nil || err.Error() != `condition "record.payload.l": list value cannot be used as a string` {
		t.Fatalf("EvalString err = %v", err)
	}
}

func TestEnv_CompileJSON_EvalJSON(t *testing.T) {
	r := record.New("k1", []byte(testPayload))
	r.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	tests := []struct{ expr, want string }{
		{`record.payload.count * 2`, `6`},
		{`2u`, `2`},
		{`record.payload.price * double(record.payload.count)`, `7.5`},
		{`record.payload.price * 2.0`, `5`},
		{`record.payload.big`, `12345678901234567000`},
		{`record.payload.esc`, `"a\"bé"`},
		{`b"\x00\xff"`, `"AP8="`},
		{`record.payload.yes`, `true`},
		{`null`, `null`},
		{`record.payload.nul`, `null`},
		{`record.event_time`, `"2026-01-02T03:04:05.000000006Z"`},
		{`timestamp("2026-01-02T03:04:05+01:00")`, `"2026-01-02T02:04:05Z"`},
		{`duration("1.5s")`, `"1.5s"`},
		{`record.event_time - timestamp("2026-01-02T03:04:00Z")`, `"5.000000006s"`},
		{`[1, "a", [true], {"x": null}]`, `[1,"a",[true],{"x":null}]`},
		{`{"b": 1, "a": {"d": 2.5, "c": record.key}}`, `{"a":{"c":"k1","d":2.5},"b":1}`},
		{`record.payload.user`, `{"age":36,"name":"Ada","tags":["x","y"]}`},
		{`record.payload.l`, `[1,2,"a",{"k":true}]`},
		{`record.metadata`, `{"m":"v"}`},
		{`record.payload.l.map(x, type(x) == int ? x * 10 : x)`, `[10,20,"a",{"k":true}]`},
	}
	r.Metadata.Set("m", "v")
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := env.CompileJSON(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.EvalJSON(r, []byte("x"))
			if err != nil || string(got) != "x"+tt.want {
				t.Fatalf("EvalJSON = %s, %v; want x%s", got, err, tt.want)
			}
		})
	}
}

func TestValueProgram_EvalJSON_Errors(t *testing.T) {
	r := record.New("k1", []byte(`{"n":1,"zero":0.0}`))
	tests := []struct{ expr, want string }{
		{`record.payload.qty`, `condition "record.payload.qty": no such key: qty`},
		{`double(record.payload.n) / record.payload.zero`, `condition "double(record.payload.n) / record.payload.zero": double +Inf cannot be written as JSON`},
		{`{"a": [0.0 / 0.0]}`, `condition "{\"a\": [0.0 / 0.0]}": key "a": index 0: double NaN cannot be written as JSON`},
		{`dyn({1: "x"})`, `condition "dyn({1: \"x\"})": map key 1 is a int: JSON object keys must be strings`},
		{`record.payload.n + "x"`, `condition "record.payload.n + \"x\"": no such overload: _+_(int, string)`},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v, err := env.CompileJSON(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.EvalJSON(r, []byte("x"))
			var ee *EvalError
			if err == nil || err.Error() != tt.want || !errors.As(err, &ee) || string(got) != "x" {
				t.Fatalf("EvalJSON = %q, %v; want error %s", got, err, tt.want)
			}
		})
	}
}

func TestEnv_CompileJSON_RejectsTypes(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`{1: "x"}`, "p.yaml:5:10: value of type map(int, string) cannot be written as JSON: object keys must be strings\n | {1: \"x\"}\n | ^"},
		{`int`, "p.yaml:5:10: value of type type(int) cannot be written as JSON\n | int\n | ^"},
		{`[optional.of(1)]`, "p.yaml:5:10: value of type optional_type(int) cannot be written as JSON\n | [optional.of(1)]\n | ^"},
		{`record.payload.a +`, "p.yaml:5:28: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | record.payload.a +\n | ..................^"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := newEnv(t).CompileJSON(tt.expr, Source{File: "p.yaml", Line: 5, Col: 10})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}
