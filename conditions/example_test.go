package conditions_test

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func ExampleEnv_Compile() {
	env, err := conditions.NewEnv()
	if err != nil {
		panic(err)
	}
	cond, err := env.Compile(`record.metadata["type"] == "user_event" && record.payload.user.age > 30`, conditions.Source{})
	if err != nil {
		panic(err)
	}
	r := record.New("u1", []byte(`{"user":{"age":36}}`))
	r.Metadata.Set("type", "user_event")
	fmt.Println(cond.Eval(r))

	// A record without the field cannot be decided: the error is the
	// dead-letter reason.
	fmt.Println(cond.Eval(record.New("u2", []byte(`{}`))))
	// Output:
	// true <nil>
	// false condition "record.metadata[\"type\"] == \"user_event\" && record.payload.user.age > 30": no such key: type
}

func ExampleEnv_Compile_error() {
	env, _ := conditions.NewEnv()
	_, err := env.Compile(`recrd.key == "x"`, conditions.Source{File: "pipeline.yaml", Line: 12, Col: 17})
	fmt.Println(err)
	// Output:
	// pipeline.yaml:12:17: undeclared reference to 'recrd.key' (did you mean 'record.key'?)
	//  | recrd.key == "x"
	//  | ^
}

func ExampleAnd() {
	cond := conditions.And(
		conditions.MetadataEquals("type", "user_event"),
		conditions.MetadataExists("user_id"),
	)
	r := record.New("k", nil)
	r.Metadata.Set("type", "user_event")
	r.Metadata.Set("user_id", "42")
	fmt.Println(cond.Evaluate(r))
	fmt.Println(cond)
	// Output:
	// true
	// (record.metadata["type"] == "user_event") && ("user_id" in record.metadata)
}

func ExampleParseNode() {
	src := []byte(`
when:
  or:
    - payload: {field: user.age, op: gt, value: 30}
    - metadata_exists: vip
`)
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		panic(err)
	}
	env, _ := conditions.NewEnv(conditions.WithSourceFile("pipeline.yaml", src))
	cond, err := conditions.ParseNode(env, "pipeline.yaml", doc.Content[0].Content[1])
	if err != nil {
		panic(err)
	}
	fmt.Println(cond.Eval(record.New("k", []byte(`{"user":{"age":36}}`))))
	// Output:
	// true <nil>
}

func ExampleEnv_CompileValue() {
	env, _ := conditions.NewEnv()
	v, _ := env.CompileValue(`double(record.payload.ts_ms) / 1000.0`, conditions.Source{})
	ns, err := v.EvalTime(record.New("k", []byte(`{"ts_ms":1767225600250}`)))
	fmt.Println(ns, err)
	// Output:
	// 1767225600250000000 <nil>
}

func ExampleWithCostLimit() {
	env, _ := conditions.NewEnv(conditions.WithCostLimit(10_000))
	// Nested loops over a payload list can cost more than the limit.
	_, err := env.Compile(`record.payload.a.all(x, record.payload.a.exists(y, x == y))`, conditions.Source{File: "pipeline.yaml", Line: 7, Col: 11})
	fmt.Println(err != nil)

	// One loop is fine at compile time; a record with a list far larger
	// than assumed is stopped at evaluation.
	defaults, _ := conditions.NewEnv()
	p, _ := defaults.Compile(`record.payload.a.exists(x, x == 2)`, conditions.Source{})
	big := []byte(`{"a":[1` + strings.Repeat(",1", 300_000) + `]}`)
	_, err = p.Eval(record.New("k", big))
	fmt.Println(errors.Is(err, conditions.ErrCostLimit))
	// Output:
	// true
	// true
}

func ExampleProgram_PayloadPaths() {
	env, _ := conditions.NewEnv()
	p, _ := env.Compile(`record.payload.user.age > 30 && record.payload.items.exists(i, i.sku == "x")`, conditions.Source{})
	fmt.Println(p.PayloadPaths())
	// Output:
	// [[user age] [items]]
}
