package conditions

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/internal/suggest"
)

// NodeSource returns the Source of a YAML scalar node in file.
func NodeSource(file string, n *yaml.Node) Source {
	return Source{
		File:   file,
		Line:   n.Line,
		Col:    n.Column,
		Quoted: n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0,
		Block:  n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0,
	}
}

// structuredKeys are the keys of a structured condition mapping.
var structuredKeys = []string{"cel", "and", "or", "not", "metadata_equals", "metadata_exists", "payload"}

// ParseNode compiles the condition written at n in file. A string is a CEL
// expression; a mapping with exactly one of the keys
//
//	cel: EXPR
//	and: [COND, ...]
//	or: [COND, ...]
//	not: COND
//	metadata_equals: {key: KEY, value: VALUE}
//	metadata_exists: KEY
//	payload: {field: a.b.c, op: OP, value: VALUE}   # op defaults to eq
//
// is a structured condition. ParseNode reports every problem it finds,
// joined with errors.Join, each an *Error positioned in file.
func ParseNode(env *Env, file string, n *yaml.Node) (Condition, error) {
	p := &nodeParser{env: env, file: file}
	c := p.cond(n)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

type nodeParser struct {
	env  *Env
	file string
	errs []error
}

func (p *nodeParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "nothing"
}

// cond parses one condition; it returns nil after reporting an error.
func (p *nodeParser) cond(n *yaml.Node) Condition {
	at := n
	if n = deref(n); n == nil {
		p.errorf(at, "empty condition")
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.errorf(n, "empty condition: want a CEL expression or one of %s", strings.Join(structuredKeys, ", "))
			return nil
		}
		return p.cel(n)
	case yaml.MappingNode:
	default:
		p.errorf(n, "condition must be a CEL expression or a mapping, got %s", kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "empty condition: want one of %s", strings.Join(structuredKeys, ", "))
		return nil
	}
	var key, val *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		known := false
		for _, s := range structuredKeys {
			known = known || k.Value == s
		}
		switch {
		case !known:
			p.errorf(k, "unknown condition %q: want one of %s%s", k.Value, strings.Join(structuredKeys, ", "), suggest.DidYouMean(k.Value, structuredKeys))
		case key != nil:
			p.errorf(k, "condition has both %q and %q: want exactly one", key.Value, k.Value)
		default:
			key, val = k, n.Content[i+1]
		}
	}
	if key == nil {
		return nil
	}
	switch key.Value {
	case "cel":
		v := deref(val)
		if v == nil || v.Kind != yaml.ScalarNode {
			p.errorf(val, "cel must be a string, got %s", kindName(val))
			return nil
		}
		return p.cel(v)
	case "and", "or":
		return p.list(key.Value, val)
	case "not":
		c := p.cond(val)
		if c == nil {
			return nil
		}
		return Not(c)
	case "metadata_exists":
		v := deref(val)
		if v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			p.errorf(val, "metadata_exists needs a metadata key")
			return nil
		}
		return MetadataExists(v.Value)
	case "metadata_equals":
		f := p.fields("metadata_equals", val, []string{"key", "value"}, []string{"key", "value"})
		if f == nil {
			return nil
		}
		k, v := f["key"], f["value"]
		ok := true
		for _, x := range []*yaml.Node{k, v} {
			if d := deref(x); d == nil || d.Kind != yaml.ScalarNode {
				p.errorf(x, "metadata_equals: key and value must be strings")
				ok = false
			}
		}
		if !ok {
			return nil
		}
		return MetadataEquals(deref(k).Value, deref(v).Value)
	default: // payload
		return p.payload(val)
	}
}

func (p *nodeParser) cel(n *yaml.Node) Condition {
	prg, err := p.env.Compile(n.Value, NodeSource(p.file, n))
	if err != nil {
		p.errs = append(p.errs, err)
		return nil
	}
	return prg
}

func (p *nodeParser) list(op string, n *yaml.Node) Condition {
	s := deref(n)
	if s == nil || s.Kind != yaml.SequenceNode || len(s.Content) == 0 {
		p.errorf(n, "%s needs a non-empty list of conditions", op)
		return nil
	}
	cs := make([]Condition, 0, len(s.Content))
	bad := false
	for _, e := range s.Content {
		c := p.cond(e)
		bad = bad || c == nil
		cs = append(cs, c)
	}
	if bad {
		return nil
	}
	if op == "and" {
		return And(cs...)
	}
	return Or(cs...)
}

// fields reads a mapping with the given allowed and required keys.
func (p *nodeParser) fields(what string, n *yaml.Node, allowed, required []string) map[string]*yaml.Node {
	m := deref(n)
	if m == nil || m.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping with %s", what, strings.Join(required, " and "))
		return nil
	}
	out := make(map[string]*yaml.Node, len(allowed))
	ok := true
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		known := false
		for _, a := range allowed {
			known = known || k.Value == a
		}
		switch {
		case !known:
			p.errorf(k, "%s: unknown field %q (want %s)%s", what, k.Value, strings.Join(allowed, ", "), suggest.DidYouMean(k.Value, allowed))
			ok = false
		case out[k.Value] != nil:
			p.errorf(k, "%s: duplicate field %q", what, k.Value)
			ok = false
		default:
			out[k.Value] = m.Content[i+1]
		}
	}
	for _, r := range required {
		if out[r] == nil {
			p.errorf(m, "%s: missing field %q", what, r)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return out
}

func (p *nodeParser) payload(n *yaml.Node) Condition {
	f := p.fields("payload", n, []string{"field", "op", "value"}, []string{"field"})
	if f == nil {
		return nil
	}
	field := deref(f["field"])
	if field == nil || field.Kind != yaml.ScalarNode {
		p.errorf(f["field"], "payload: field must be a string")
		return nil
	}
	if path := field.Value; path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
		p.errorf(field, "payload: field %q is not a dot-separated path", path)
		return nil
	}
	op := OpEq
	if o := f["op"]; o != nil {
		op = Op(deref(o).Value)
		if _, known := opSymbols[op]; !known && op != OpExists {
			p.errorf(o, "payload: unknown op %q (want one of %s)%s", op, strings.Join(opNames, ", "), suggest.DidYouMean(string(op), opNames))
			return nil
		}
	}
	var value any
	valueNode := f["value"]
	if valueNode != nil {
		if err := valueNode.Decode(&value); err != nil {
			p.errorf(valueNode, "payload: value: %v", err)
			return nil
		}
	} else if op != OpExists {
		p.errorf(deref(n), "payload: missing field \"value\" (only op exists takes none)")
		return nil
	} else {
		valueNode = deref(n)
	}
	c, err := PayloadField(field.Value, op, value)
	if err != nil {
		p.errorf(valueNode, "%v", err)
		return nil
	}
	return c
}
