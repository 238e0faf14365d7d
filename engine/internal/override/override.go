// Package override applies command-line overrides ("--set path=value") to
// a parsed YAML tree.
//
// A path is keys separated by dots. In a list, a segment selects the
// element whose `name` or `id` is that segment (sources.in.path,
// stages.keep.condition), else, when it is a number, the element at that
// index (edges.0.to). A missing key is added, with the mappings leading to
// it, so that the strict decoder that reads the tree afterwards reports an
// unknown key with its did-you-mean, at the override's position. The
// value is YAML (10 is an integer, "10" a string, [a, b] a list; nothing
// after = is null).
//
// Nodes an override adds carry its positions: line is given by the
// caller, columns are those of the argument, so that a problem found later
// in the value (a string where a number belongs) points into it.
package override

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is a problem with an override, at a column of its argument.
type Error struct {
	Col int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Col, e.Msg) }

// Apply applies arg ("path=value") to root, a mapping (or a document
// holding one), giving the nodes it adds the line line.
func Apply(root *yaml.Node, arg string, line int) error {
	path, value, ok := strings.Cut(arg, "=")
	if !ok || path == "" {
		return &Error{Col: 1, Msg: fmt.Sprintf("expected path=value, got %q", arg)}
	}
	valCol := utf8.RuneCountInString(path) + 2
	val, err := parseValue(value, line, valCol)
	if err != nil {
		return err
	}
	n := resolve(root)
	segs := strings.Split(path, ".")
	col := 1
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "" {
			return &Error{Col: col, Msg: fmt.Sprintf("empty key in path %q", path)}
		}
		so := strings.Join(segs[:i], ".")
		switch n.Kind {
		case yaml.MappingNode:
			var found *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == seg {
					if last {
						n.Content[j+1] = val
						return nil
					}
					found = n.Content[j+1]
					break
				}
			}
			if found == nil {
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg, Line: line, Column: col}
				if last {
					found = val
				} else {
					found = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: col}
				}
				n.Content = append(n.Content, k, found)
				if last {
					return nil
				}
			}
			found = resolve(found)
			if found.Kind == yaml.ScalarNode && found.Tag == "!!null" {
				// An empty section (`settings:`) becomes a mapping.
				*found = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: found.Line, Column: found.Column}
			}
			n = found
		case yaml.SequenceNode:
			idx := element(n, seg)
			if idx < 0 {
				return &Error{Col: col, Msg: fmt.Sprintf("%s has no element named %q (by name or id) and %q is not an index below %d", orTop(so), seg, seg, len(n.Content))}
			}
			if last {
				n.Content[idx] = val
				return nil
			}
			n = resolve(n.Content[idx])
		default:
			return &Error{Col: col, Msg: fmt.Sprintf("%s is a %s, not a mapping or a list: it has no %q", orTop(so), kind(n), seg)}
		}
		col += utf8.RuneCountInString(seg) + 1
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "the pipeline"
	}
	return path
}

// element returns the index of the element of the list n named seg (its
// name or id key), or at the index seg, or -1.
func element(n *yaml.Node, seg string) int {
	for i, c := range n.Content {
		c = resolve(c)
		if c.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(c.Content); j += 2 {
			if k := c.Content[j].Value; (k == "name" || k == "id") && resolve(c.Content[j+1]).Value == seg {
				return i
			}
		}
	}
	if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) && strconv.Itoa(i) == seg {
		return i
	}
	return -1
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return "scalar"
	case yaml.SequenceNode:
		return "list"
	}
	return "node"
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
			continue
		}
		if len(n.Content) == 0 {
			return n
		}
		n = n.Content[0]
	}
	return n
}

// parseValue parses the YAML value of an override, positioned at line and
// col; empty is null.
func parseValue(value string, line, col int) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "line 1: ")
		return nil, &Error{Col: col, Msg: "invalid YAML value: " + msg}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: line, Column: col}, nil
	}
	n := doc.Content[0]
	shift(n, line, col, map[*yaml.Node]bool{})
	return n, nil
}

// shift moves the positions of a value parsed alone to where it is in the
// override: its first line is the override's line, shifted by col.
func shift(n *yaml.Node, line, col int, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if n.Line == 1 {
		n.Column += col - 1
	}
	n.Line += line - 1
	for _, c := range n.Content {
		shift(c, line, col, seen)
	}
	shift(n.Alias, line, col, seen)
}
