package engine

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// leaks lists the exported declarations of the Go package in dir (test
// files aside) whose types mention a package whose import path contains
// lib: exported struct fields and interface methods of exported types,
// type definitions and aliases, signatures of exported functions and of
// exported methods of exported types, and declared types of exported vars
// and consts.
func leaks(t *testing.T, dir, lib string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{} // local names of lib's packages in f
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.Contains(p, lib) {
				names[importName(imp)] = true
			}
		}
		if len(names) == 0 {
			continue
		}
		check := func(what string, n ast.Node) {
			ast.Inspect(n, func(x ast.Node) bool {
				if sel, ok := x.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && names[id.Name] {
						out = append(out, fmt.Sprintf("%s: %s mentions %s.%s", fset.Position(sel.Pos()), what, id.Name, sel.Sel.Name))
					}
				}
				return true
			})
		}
		checkFields := func(what string, fl *ast.FieldList) {
			if fl == nil {
				return
			}
			for _, fd := range fl.List {
				exported := len(fd.Names) == 0 // embedded
				for _, n := range fd.Names {
					exported = exported || n.IsExported()
				}
				if exported {
					check(what, fd.Type)
				}
			}
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				what := d.Name.Name
				if d.Recv != nil {
					recv := d.Recv.List[0].Type
					if st, ok := recv.(*ast.StarExpr); ok {
						recv = st.X
					}
					if ix, ok := recv.(*ast.IndexExpr); ok {
						recv = ix.X
					}
					id, ok := recv.(*ast.Ident)
					if !ok || !id.IsExported() {
						continue
					}
					what = id.Name + "." + what
				}
				check(what, d.Type)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						switch ty := s.Type.(type) {
						case *ast.StructType:
							checkFields(s.Name.Name, ty.Fields)
						case *ast.InterfaceType:
							checkFields(s.Name.Name, ty.Methods)
						default:
							check(s.Name.Name, s.Type)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && s.Type != nil {
								check(n.Name, s.Type)
							}
						}
					}
				}
			}
		}
	}
	return out
}

// importName is the name a file refers to an import by: its own name for
// it, or the last element of its path without a major version
// (go.yaml.in/yaml/v3 and gopkg.in/yaml.v3 are both yaml).
func importName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	p, _ := strconv.Unquote(imp.Path.Value)
	elems := strings.Split(p, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = elems[len(elems)-2]
	}
	name, _, _ = strings.Cut(name, ".")
	return name
}

// The YAML library is how pipeline files are read, not part of the API:
// Go users build pipelines with Config, Value, When and Expression, and the
// library can change without breaking them. See RATIONALE.md ("Why is there
// no yaml.Node in the engine's API?").
func TestAPI_NoYAMLTypes(t *testing.T) {
	for _, l := range leaks(t, ".", "yaml") {
		t.Error(l)
	}
}

// leaks finds what it must: a leak in each place an exported API can have
// one, and nothing in unexported places.
func TestAPI_Leaks_Finds(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import (
	"go.yaml.in/yaml/v3"
	y2 "gopkg.in/yaml.v2"
)

type A struct {
	F *yaml.Node
	g *yaml.Node
}
type B = yaml.Node
type C interface{ M(y2.MapSlice) }
type d struct{ F *yaml.Node }

func F(n *yaml.Node)          {}
func (A) M() yaml.Kind        { return 0 }
func (d) M() yaml.Kind        { return 0 }
func f(n *yaml.Node)          {}
func G() { var _ yaml.Node }

var V yaml.Kind
var v yaml.Kind
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := leaks(t, dir, "yaml")
	var whats []string
	for _, l := range got {
		_, what, _ := strings.Cut(l, ": ")
		whats = append(whats, what)
	}
	want := []string{
		"A mentions yaml.Node", "B mentions yaml.Node", "C mentions y2.MapSlice",
		"F mentions yaml.Node", "A.M mentions yaml.Kind", "V mentions yaml.Kind",
	}
	if strings.Join(whats, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(whats, "\n"), strings.Join(want, "\n"))
	}
}
