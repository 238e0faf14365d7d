// Package interp expands environment references in the scalar values of a
// parsed YAML tree: ${VAR}, ${VAR:default} and the escape $${...}, which
// stands for a literal ${...}.
//
// Expansion runs on the nodes, after parsing, so that every node keeps the
// line and column it has in the user's file, and a value can never inject
// YAML structure (a list, a mapping, another key): it only ever becomes
// the text of the scalar that holds it. A plain (unquoted, untagged)
// scalar is typed again after expansion, as YAML would type the result
// (`batch_size: ${N}` with N=10 is the integer 10); a quoted scalar stays a
// string. Mapping keys are never expanded.
package interp

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Lookup returns the value of an environment variable and whether it is
// set (os.LookupEnv has this signature).
type Lookup func(name string) (string, bool)

// Problem is a reference that cannot be expanded: a missing variable
// without a default, an unterminated ${ or an invalid name.
type Problem struct {
	// Line and Col are the reference's position in the file (Tree), or
	// Offset its start in the string, in runes (Expand).
	Line, Col, Offset int
	// Msg says what is wrong.
	Msg string
}

// Expand replaces the references in s. A variable that is unset or empty
// takes its default when it has one; an unset variable without a default
// is a problem (an empty one expands to ""). The default runs to the first
// '}' and is taken literally (no references inside it). changed reports
// whether s held a reference or an escape.
func Expand(s string, env Lookup) (out string, changed bool, problems []Problem) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		j += i
		changed = true
		if j > i && s[j-1] == '$' {
			// $${...}: the escape, a literal ${...}. The '$' before
			// j is dropped; the text from j on is copied as is.
			b.WriteString(s[i : j-1])
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				b.WriteString(s[j:])
				break
			}
			b.WriteString(s[j : j+end+1])
			i = j + end + 1
			continue
		}
		b.WriteString(s[i:j])
		off := utf8.RuneCountInString(s[:j])
		end := strings.IndexByte(s[j:], '}')
		if end < 0 {
			problems = append(problems, Problem{Offset: off, Msg: "unterminated ${ (write $${ for a literal ${)"})
			b.WriteString(s[j:])
			break
		}
		ref := s[j+2 : j+end]
		i = j + end + 1
		name, def, hasDef := strings.Cut(ref, ":")
		if !validName(name) {
			problems = append(problems, Problem{Offset: off, Msg: fmt.Sprintf("invalid variable name %q in ${%s} (letters, digits and _, not starting with a digit; write $${ for a literal ${)", name, ref)})
			continue
		}
		v, ok := env(name)
		switch {
		case hasDef && v == "":
			b.WriteString(def)
		case ok:
			b.WriteString(v)
		default:
			problems = append(problems, Problem{Offset: off, Msg: fmt.Sprintf("environment variable %s is not set (give a default with ${%s:default})", name, name)})
		}
	}
	return b.String(), changed, problems
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Tree expands every scalar value under n in place and returns the
// problems, positioned in text, the file n was parsed from (nil: at their
// scalar). Aliased nodes are expanded once, where they are defined. A node
// for which skip (when not nil) is true is left as it is, with what it
// holds.
func Tree(n *yaml.Node, env Lookup, text []byte, skip func(*yaml.Node) bool) []Problem {
	var problems []Problem
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, key bool)
	walk = func(n *yaml.Node, key bool) {
		if n == nil || seen[n] || skip != nil && skip(n) {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, false)
			}
		case yaml.MappingNode:
			for i, c := range n.Content {
				walk(c, i%2 == 0)
			}
		case yaml.AliasNode:
			walk(n.Alias, key)
		case yaml.ScalarNode:
			if key {
				return
			}
			out, changed, ps := Expand(n.Value, env)
			for _, p := range ps {
				p.Line, p.Col = n.Line, column(text, n, p.Offset)
				problems = append(problems, p)
			}
			if !changed {
				return
			}
			n.Value = out
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0 {
				// Plain: typed as YAML types the new text.
				n.Tag = ""
				n.Tag = n.ShortTag()
			}
		}
	}
	walk(n, false)
	return problems
}

// column returns the column in text of the reference at offset (runes)
// in the scalar n, before n is expanded: exact when the scalar's text in
// the file reads the same as its value up to the reference (plain and
// quoted one-line scalars without escapes before it), else n's column.
func column(text []byte, n *yaml.Node, offset int) int {
	line, ok := lineOf(text, n.Line)
	if !ok || n.Column < 1 {
		return n.Column
	}
	start := n.Column - 1 // runes
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		start++
	}
	want := []rune(n.Value)
	if offset+2 > len(want) {
		return n.Column
	}
	want = want[:offset+2] // the value up to and including "${"
	rs := []rune(string(line))
	if start+len(want) > len(rs) || string(rs[start:start+len(want)]) != string(want) {
		return n.Column
	}
	return start + offset + 1
}

// lineOf returns line (1-based) of text.
func lineOf(text []byte, line int) ([]byte, bool) {
	if text == nil || line < 1 {
		return nil, false
	}
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			return nil, false
		}
		text = text[i+1:]
	}
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	return text, true
}
