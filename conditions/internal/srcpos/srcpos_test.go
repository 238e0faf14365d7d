package srcpos

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// scalar returns the first scalar value under key "c" in doc.
func scalar(t *testing.T, doc string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	if c := find(&n); c != nil {
		return c
	}
	t.Fatal("no key c")
	return nil
}

func find(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "c" {
				return n.Content[i+1]
			}
		}
	}
	for _, c := range n.Content {
		if f := find(c); f != nil {
			return f
		}
	}
	return nil
}

func TestMap_Pos_Exact(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		line, col int // in the value (col 0-based)
		want      Pos
	}{
		{"plain", "x: 1\nc: record.key == 1\n", 1, 0, Pos{2, 4}},
		{"plain middle", "c: record.key == 1\n", 1, 7, Pos{1, 11}},
		{"double quoted", "c: \"recrd.key\"\n", 1, 0, Pos{1, 5}},
		{"double quoted after escape", "c: \"a\\tb == x\"\n", 1, 2, Pos{1, 8}},
		{"double quoted unicode escape", "c: \"\\u00e9 + y\"\n", 1, 4, Pos{1, 14}},
		{"single quoted doubled quote", "c: 'a == ''x'' && y'\n", 1, 11, Pos{1, 18}},
		{"literal block line 1", "c: |\n  a &&\n    recrd\n", 1, 0, Pos{2, 3}},
		{"literal block line 2", "c: |\n  a &&\n    recrd\n", 2, 2, Pos{3, 5}},
		{"literal block nested", "x:\n  c: |-\n      a\n      b\n", 2, 0, Pos{4, 7}},
		{"folded block", "c: >-\n  aa\n  bb\n", 1, 3, Pos{3, 3}},
		{"plain multi-line", "c: aa\n   bb\n", 1, 3, Pos{2, 4}},
		{"double quoted multi-line", "c: \"aa\n  bb\"\n", 1, 4, Pos{2, 4}},
		{"end of input", "c: a ==\n", 1, 4, Pos{1, 8}},
		{"wide chars", "c: \"é == ü\"\n", 1, 5, Pos{1, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := scalar(t, tt.doc)
			quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
			block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
			m := New(n.Value, Pos{n.Line, n.Column}, quoted, block, []byte(tt.doc))
			if !m.Exact() {
				t.Fatalf("mapping of %q is not exact", n.Value)
			}
			if got := m.Pos(tt.line, tt.col); got != tt.want {
				t.Fatalf("Pos(%d,%d) of %q = %v, want %v", tt.line, tt.col, n.Value, got, tt.want)
			}
		})
	}
}

func TestMap_Pos_Arithmetic(t *testing.T) {
	tests := []struct {
		name          string
		start         Pos
		quoted, block bool
		line, col     int
		want          Pos
	}{
		{"no source", Pos{}, false, false, 2, 3, Pos{2, 4}},
		{"plain", Pos{12, 10}, false, false, 1, 7, Pos{12, 17}},
		{"quoted", Pos{12, 9}, true, false, 1, 7, Pos{12, 17}},
		{"second line", Pos{12, 9}, false, false, 2, 0, Pos{13, 1}},
		{"block", Pos{4, 9}, false, true, 2, 3, Pos{6, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("aaaaaaaaaa\nbbbbbbbbb", tt.start, tt.quoted, tt.block, nil)
			if m.Exact() {
				t.Fatal("Exact() without text")
			}
			if got := m.Pos(tt.line, tt.col); got != tt.want {
				t.Fatalf("Pos = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNew_Mismatch_FallsBack(t *testing.T) {
	// The text does not hold the value: arithmetic positions are used.
	m := New("abc", Pos{1, 4}, false, false, []byte("c: xyz\n"))
	if m.Exact() {
		t.Fatal("mismatching text gave an exact map")
	}
	if got := m.Pos(1, 1); got != (Pos{1, 5}) {
		t.Fatalf("Pos = %v, want {1 5}", got)
	}
}

func FuzzNew(f *testing.F) {
	f.Add("c: |\n  a\n  b\n", "a\nb\n", 1, 4)
	f.Add("c: \"a\\tb\"\n", "a\tb", 1, 4)
	f.Add("c: 'x''y'\n", "x'y", 1, 4)
	f.Add("c: a\n  b\n", "a b", 1, 4)
	f.Fuzz(func(t *testing.T, text, value string, line, col int) {
		m := New(value, Pos{line, col}, false, false, []byte(text))
		l, c := 1, 0
		for _, r := range value + " " {
			p := m.Pos(l, c)
			if m.Exact() && (p.Line < 1 || p.Col < 1) {
				t.Fatalf("exact position %v out of range", p)
			}
			if r == '\n' {
				l, c = l+1, 0
			} else {
				c++
			}
		}
	})
}
