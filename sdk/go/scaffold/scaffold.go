// Package scaffold writes new plugin projects (`conveyor-wasm plugin new`)
// that build and pass their own test out of the box.
//
// The Go SDK is not published as a module of its own, so a Go project gets
// a copy of it: third_party/conveyor-wasm holds packages abi and sdk/go (and
// conveyortest) as a local module named github.com/conveyor-etl/conveyor-wasm,
// and the project's go.mod requires that module and replaces it with the
// directory. Imports read exactly as they will once the SDK is published;
// deleting the replace line and third_party switches to it. The copy is
// embedded in this package (generated into _sdk by go generate, checked by
// a test). Rust and C projects get a copy of the SDK crate or header, from
// the Go packages sdk/rust and sdk/c that embed them.
package scaffold

//go:generate go run gen.go

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

//go:embed all:_sdk
var sdk embed.FS

// Languages are the languages New accepts.
var Languages = []string{"go", "rust", "c"}

// validName is a plugin name: it becomes a directory, a module path and a
// file name.
var validName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Options configure New.
type Options struct {
	// Lang is "go", "rust" or "c".
	Lang string
	// Name is the plugin's name: lower-case letters, digits and dashes.
	Name string
	// Dir is the project directory to create; it must not exist.
	Dir string
	// CLI is the conveyor-wasm command the project's test.sh runs
	// (default "conveyor-wasm").
	CLI string
}

// New writes a plugin project and returns the paths it wrote, relative to
// o.Dir.
func New(o Options) ([]string, error) {
	if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("plugin name %q: use lower-case letters, digits and dashes, starting with a letter", o.Name)
	}
	if !slices.Contains(Languages, o.Lang) {
		return nil, fmt.Errorf("language %q: want one of %s", o.Lang, strings.Join(Languages, ", "))
	}
	if _, err := os.Stat(o.Dir); err == nil {
		return nil, fmt.Errorf("%s already exists", o.Dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if o.CLI == "" {
		o.CLI = "conveyor-wasm"
	}
	files := map[string]string{}
	var err error
	switch o.Lang {
	case "go":
		err = goProject(o, files)
	case "rust":
		err = rustProject(o, files)
	case "c":
		err = cProject(o, files)
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(o.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(files[name]), mode); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// copyTree adds the embedded files under _sdk/from to files, under to.
func copyTree(files map[string]string, from, to string) error {
	root := path.Join("_sdk", from)
	return fs.WalkDir(sdk, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sdk.ReadFile(p)
		if err != nil {
			return err
		}
		files[path.Join(to, strings.TrimPrefix(p, root+"/"))] = string(b)
		return nil
	})
}

// SourceFiles lists, relative to the repository root, the files the Go
// scaffold copies: non-test Go files of abi and sdk/go (with conveyortest
// and internal/hook).
func SourceFiles(root string) ([]string, error) {
	var out []string
	for _, dir := range []string{"abi", "sdk/go", "sdk/go/conveyortest", "sdk/go/internal/hook"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
				out = append(out, dir+"/"+n)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func expand(tmpl string, o Options) string {
	return strings.NewReplacer("{{NAME}}", o.Name, "{{IDENT}}", strings.ReplaceAll(o.Name, "-", "_"), "{{CLI}}", o.CLI).Replace(tmpl)
}
