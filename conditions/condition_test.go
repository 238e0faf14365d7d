package conditions

import (
	"errors"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func mustField(t *testing.T, path string, op Op, value any) Condition {
	t.Helper()
	c, err := PayloadField(path, op, value)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userEvent() *record.Record {
	r := record.New("k", []byte(`{"user":{"age":36,"name":"Ada","tags":["x","y"]},"items":[{"sku":"a1"}],"n":null,"ok":true,"price":2.5}`))
	r.Metadata.Set("type", "user_event")
	r.Metadata.Set("user_id", "42")
	return r
}

func TestCondition_Eval_Structured(t *testing.T) {
	r := userEvent()
	tests := []struct {
		name string
		c    Condition
		want bool
	}{
		{"seed example", And(MetadataEquals("type", "user_event"), MetadataExists("user_id")), true},
		{"metadata equals other value", MetadataEquals("type", "other"), false},
		{"metadata equals missing", MetadataEquals("nope", ""), false},
		{"metadata exists missing", MetadataExists("nope"), false},
		{"and empty", And(), true},
		{"or empty", Or(), false},
		{"or", Or(MetadataExists("nope"), MetadataExists("type")), true},
		{"not", Not(MetadataExists("nope")), true},
		{"eq number", mustField(t, "user.age", OpEq, 36), true},
		{"eq number as float", mustField(t, "user.age", OpEq, 36.0), true},
		{"eq string", mustField(t, "user.name", OpEq, "Ada"), true},
		{"eq type mismatch is false", mustField(t, "user.name", OpEq, 36), false},
		{"ne type mismatch is true", mustField(t, "user.name", OpNe, 36), true},
		{"eq list", mustField(t, "user.tags", OpEq, []any{"x", "y"}), true},
		{"eq list other order", mustField(t, "user.tags", OpEq, []string{"y", "x"}), false},
		{"eq map", mustField(t, "items.0", OpEq, map[string]any{"sku": "a1"}), true},
		{"eq null", mustField(t, "n", OpEq, nil), true},
		{"eq bool", mustField(t, "ok", OpEq, true), true},
		{"array index", mustField(t, "items.0.sku", OpEq, "a1"), true},
		{"gt", mustField(t, "user.age", OpGt, 30), true},
		{"ge equal", mustField(t, "user.age", OpGe, 36), true},
		{"lt", mustField(t, "price", OpLt, 3), true},
		{"le", mustField(t, "price", OpLe, 2.4), false},
		{"lt string", mustField(t, "user.name", OpLt, "Bob"), true},
		{"exists", mustField(t, "user.tags", OpExists, nil), true},
		{"exists null", mustField(t, "n", OpExists, nil), true},
		{"exists missing", mustField(t, "user.email", OpExists, nil), false},
		{"exists missing index", mustField(t, "items.3", OpExists, nil), false},
		{"in", mustField(t, "user.name", OpIn, []any{"Bob", "Ada"}), true},
		{"in none", mustField(t, "user.age", OpIn, []any{1, 2}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Eval(r)
			if err != nil || got != tt.want {
				t.Fatalf("%s: Eval = %v, %v; want %v", tt.c, got, err, tt.want)
			}
			if tt.c.Evaluate(r) != tt.want {
				t.Fatal("Evaluate disagrees with Eval")
			}
			if got, err := tt.c.EvalWatermark(r, 0); err != nil || got != tt.want {
				t.Fatal("EvalWatermark disagrees with Eval")
			}
		})
	}
}

func TestCondition_Eval_Errors(t *testing.T) {
	r := userEvent()
	tests := []struct {
		name string
		c    Condition
		want string
	}{
		{"missing field", mustField(t, "user.email", OpEq, "x"), `condition "record.payload.user.email == \"x\"": no such key: email`},
		{"through a string", mustField(t, "user.name.first", OpEq, "x"), `condition "record.payload.user.name.first == \"x\"": no such key: first`},
		{"compare string with number", mustField(t, "user.name", OpGt, 3), `condition "record.payload.user.name > 3": cannot compare string with number`},
		{"compare number with string", mustField(t, "user.age", OpGt, "3"), `condition "record.payload.user.age > \"3\"": cannot compare number with string`},
		{"error inside and", And(MetadataExists("type"), mustField(t, "nope", OpEq, 1)), `condition "record.payload.nope == 1": no such key: nope`},
		{"error inside not", Not(mustField(t, "nope", OpEq, 1)), `condition "record.payload.nope == 1": no such key: nope`},
		{"error inside or", Or(mustField(t, "nope", OpEq, 1), MetadataExists("type")), `condition "record.payload.nope == 1": no such key: nope`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Eval(r)
			if got || err == nil || err.Error() != tt.want {
				t.Fatalf("Eval = %v, %v\nwant error %s", got, err, tt.want)
			}
			if tt.c.Evaluate(r) {
				t.Fatal("Evaluate = true on error")
			}
		})
	}
	_, err := mustField(t, "a", OpEq, 1).Eval(record.New("", []byte(`{`)))
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Cond != "record.payload.a == 1" {
		t.Fatalf("malformed payload: %v", err)
	}
}

func TestCondition_Eval_ShortCircuits(t *testing.T) {
	bad := mustField(t, "nope", OpEq, 1)
	r := userEvent()
	if ok, err := And(MetadataExists("nope"), bad).Eval(r); ok || err != nil {
		t.Fatalf("and stops at first false: %v, %v", ok, err)
	}
	if ok, err := Or(MetadataExists("type"), bad).Eval(r); !ok || err != nil {
		t.Fatalf("or stops at first true: %v, %v", ok, err)
	}
}

func TestCondition_EvalWatermark_ReachesCEL(t *testing.T) {
	p := compileT(t, `watermark > timestamp(0)`)
	c := And(MetadataExists("type"), Not(Not(p)))
	if ok, err := c.EvalWatermark(userEvent(), 5); !ok || err != nil {
		t.Fatalf("EvalWatermark = %v, %v", ok, err)
	}
	if _, err := c.Eval(userEvent()); !errors.Is(err, ErrNoWatermark) {
		t.Fatalf("Eval without watermark: %v", err)
	}
}

func TestCondition_String_IsCEL(t *testing.T) {
	tests := []struct {
		c    Condition
		want string
	}{
		{And(MetadataEquals("type", "user_event"), MetadataExists("user_id")), `(record.metadata["type"] == "user_event") && ("user_id" in record.metadata)`},
		{Or(Not(MetadataExists("a"))), `(!("a" in record.metadata))`},
		{And(), "true"},
		{Or(), "false"},
		{mustField(t, "user.age", OpGe, 30), `record.payload.user.age >= 30`},
		{mustField(t, "items.0.a-b", OpExists, nil), `"a-b" in record.payload.items[0]`},
		{mustField(t, "items.2", OpExists, nil), `size(record.payload.items) > 2`},
		{mustField(t, "user.email", OpExists, nil), `has(record.payload.user.email)`},
		{mustField(t, "x", OpIn, []any{1, "a", nil, true}), `record.payload.x in [1, "a", null, true]`},
		{mustField(t, "x", OpNe, map[string]any{"b": 1.5, "a": []any{}}), `record.payload.x != {"a": [], "b": 1.5}`},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Fatalf("String() = %s\nwant %s", got, tt.want)
			}
			if _, err := env.Compile(tt.c.String(), Source{}); err != nil {
				t.Fatalf("String() is not valid CEL: %v", err)
			}
		})
	}
}

func TestPayloadField_Errors(t *testing.T) {
	tests := []struct {
		path  string
		op    Op
		value any
		want  string
	}{
		{"", OpEq, 1, "payload field: empty path"},
		{"a..b", OpEq, 1, `payload field "a..b": empty path segment`},
		{"a", "regex", 1, `payload field "a": unknown op "regex" (want one of eq, ne, lt, le, gt, ge, exists, in)`},
		{"a", "exist", nil, `payload field "a": unknown op "exist" (want one of eq, ne, lt, le, gt, ge, exists, in) (did you mean "exists"?)`},
		{"a", OpLt, true, `payload field "a": op lt needs a number or string value, got bool`},
		{"a", OpExists, 1, `payload field "a": op exists takes no value`},
		{"a", OpIn, "x", `payload field "a": op in needs a list value, got string`},
		{"a", OpEq, struct{}{}, `payload field "a": value: unsupported type struct {}`},
		{"a", OpEq, []any{struct{}{}}, `payload field "a": value: unsupported type struct {}`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := PayloadField(tt.path, tt.op, tt.value)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}
