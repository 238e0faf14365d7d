package pipetest

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/conveyor-etl/conveyor-wasm/internal/suggest"
)

// blocks are the test file's mappings by Go type name, for messages about
// their keys.
var blocks = map[string]struct {
	what string
	t    reflect.Type
}{
	"File":             {"the test file", reflect.TypeFor[File]()},
	"Case":             {"a case", reflect.TypeFor[Case]()},
	"Input":            {"an input record", reflect.TypeFor[Input]()},
	"RecordExpect":     {"an expected record", reflect.TypeFor[RecordExpect]()},
	"SinkExpect":       {"a sink's expectations", reflect.TypeFor[SinkExpect]()},
	"DeadLetterExpect": {"a dead-letter expectation", reflect.TypeFor[DeadLetterExpect]()},
	"Step":             {"a step", reflect.TypeFor[Step]()},
}

var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type pipetest\.(\w+)$`)

// yamlError rewrites the YAML decoder's problems with a test file into
// the file's terms: "file:line: unknown key "expct" in a case (did you
// mean "expect"?)" rather than Go type names.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", path, err)
	}
	var msgs []string
	for _, e := range te.Errors {
		m := unknownField.FindStringSubmatch(e)
		b, ok := blocks[m2(m, 3)]
		if !ok {
			msgs = append(msgs, fmt.Sprintf("%s: %s", path, e))
			continue
		}
		keys := yamlKeys(b.t)
		msgs = append(msgs, fmt.Sprintf("%s:%s: unknown key %q in %s (want %s)%s", path, m[1], m[2], b.what,
			suggest.OrList(keys), suggest.DidYouMean(m[2], keys)))
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// m2 is m[i], or "" when m did not match.
func m2(m []string, i int) string {
	if len(m) <= i {
		return ""
	}
	return m[i]
}

// yamlKeys lists the YAML keys of struct type t.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
