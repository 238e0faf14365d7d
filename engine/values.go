package engine

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"go.yaml.in/yaml/v3"
)

// Config is a connector's own configuration: the keys of a source or a
// service other than those the engine reads itself (name, type, event_time,
// ...), checked against the connector's spec when the pipeline is
// compiled. A pipeline file fills it with those keys and their positions;
// in Go, build one with ConfigOf. The zero Config has no keys.
type Config struct {
	node *yaml.Node // a mapping; nil: no keys
	err  error      // from ConfigOf, reported by Compile
}

// ConfigOf returns a connector configuration holding keys, as if they had
// been written in a pipeline file: values are strings, numbers, booleans,
// time.Duration, and lists and maps of those. It keeps no reference to keys.
// A value that has no YAML form (a func, a channel) is reported by Compile,
// as is every problem with the keys (unknown, missing or of the wrong
// type), at the source or service that holds them.
func ConfigOf(keys map[string]any) Config {
	n, err := nodeOf(keys)
	if err != nil {
		return Config{err: fmt.Errorf("config: %w", err)}
	}
	return Config{node: n}
}

// Value is any value in a pipeline (a lookup's default): a scalar, a list
// or a mapping, kept with its position in the file. In Go, build one with
// ValueOf. The zero Value is no value: the key is absent.
type Value struct {
	node *yaml.Node // nil: absent (unless err is set)
	err  error      // from ValueOf, reported by Compile
}

// ValueOf returns x as a pipeline value, as if it had been written in a
// pipeline file: x is nil (null), a string, a number, a boolean, or a list
// or map of those. It keeps no reference to x. A value that has no YAML
// form (a func, a channel) is reported by Compile.
func ValueOf(x any) Value {
	n, err := nodeOf(x)
	if err != nil {
		return Value{err: err}
	}
	return Value{node: n}
}

// DocType names the type in generated docs.
func (Value) DocType() string { return "any" }

// isZero reports whether v is absent.
func (v Value) isZero() bool { return v.node == nil && v.err == nil }

// pos is where v is in file, or at when v has no position (built in Go).
func (v Value) pos(file string, at Position) Position {
	if v.node == nil || v.node.Line == 0 {
		return at
	}
	return decode.At(file, v.node)
}

// json returns v as JSON.
func (v Value) json() ([]byte, error) {
	if v.err != nil {
		return nil, v.err
	}
	var x any
	if err := v.node.Decode(&x); err != nil {
		return nil, err
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("cannot be JSON: %w", err)
	}
	return b, nil
}

// nodeOf encodes x as a YAML node without positions.
func nodeOf(x any) (n *yaml.Node, err error) {
	defer func() {
		// The YAML encoder panics, with a plain string, on values it has
		// no form for.
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("cannot be YAML: %v", r)
		}
	}()
	n = new(yaml.Node)
	if err := n.Encode(x); err != nil {
		return nil, fmt.Errorf("cannot be YAML: %w", err)
	}
	return n, nil
}

// The pipeline types that keep their YAML node (for positions, and for a
// later, more specific decoder) decode through these registrations, so
// that no exported method mentions the YAML library.
func init() {
	decode.RegisterType(reflect.TypeOf(Config{}), func(_ string, n *yaml.Node, v reflect.Value) error {
		v.Set(reflect.ValueOf(Config{node: n}))
		return nil
	})
	decode.RegisterType(reflect.TypeOf(Value{}), func(_ string, n *yaml.Node, v reflect.Value) error {
		v.Set(reflect.ValueOf(Value{node: n}))
		return nil
	})
	decode.RegisterType(reflect.TypeOf(Condition{}), func(file string, n *yaml.Node, v reflect.Value) error {
		return v.Addr().Interface().(*Condition).decodeNode(file, n)
	})
	decode.RegisterType(reflect.TypeOf(Expr{}), func(file string, n *yaml.Node, v reflect.Value) error {
		return v.Addr().Interface().(*Expr).decodeNode(file, n)
	})
}
