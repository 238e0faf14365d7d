// Package pipetest runs pipeline test files (`conveyor-wasm test`): a
// *_test.yaml file beside a pipeline names it and holds cases; each case
// feeds records to the pipeline's sources and checks what reached its
// sinks and its dead-letter sink. Cases run in-process through the real
// engine (Wasm plugins, lookups and event time included), with every source
// and every sink service replaced by in-memory ones, so that nothing is
// read from the pipeline's inputs and nothing is written.
//
// A test file:
//
//	pipeline: pipeline.yaml        # default: the test file's name less _test
//	cases:
//	  - name: active users are archived
//	    inputs:                    # per source; sources not named get no records
//	      users:
//	        - payload: {user_id: u1, active: true}   # a YAML/JSON value; a string is the payload's text
//	          key: u1                               # default: the source's key_field, if any
//	          metadata: {origin: test}
//	          event_time: 2026-01-01T00:00:00Z       # used where the source extracts none
//	        - file: data/users.jsonl                 # JSON lines, read by the file connector
//	    expect:                    # per sink service (or sink stage id)
//	      archive:
//	        count: 1
//	        records: [{payload: {user_id: u1, active: true}}]   # exactly these (any order, or ordered: true)
//	        contains: [{payload: {user_id: u1}}]                # JSON subsets, each matched by its own record
//	        assert: record.payload.active == true              # CEL, true for every record
//	    dead_letters:              # absent: none expected
//	      - {reason_contains: malformed JSON, count: 1}
//
// The cases can also live in the pipeline file itself, as its tests: list
// (a run ignores it).
//
// Inputs are read first (files with the file connector), then fed one
// batch at a time, each once the pipeline has settled after the one
// before, the source furthest behind in event time first: what is late at
// a merge is the same on every run.
//
// Event time runs on a virtual clock: processing time (idle timeouts,
// use_processing_time, max_future) stands still at the case's clock (or
// the wall clock when the case starts) unless a step moves it. A case may
// give steps instead of inputs; they run in order, each once the pipeline
// has settled after the one before (nothing queued or being processed):
//
//	clock: 2026-01-01T00:00:00Z
//	steps:
//	  - source: north                # records, emitted as one batch
//	    records: [{payload: {ts: 1767225601000}}]
//	  - {source: south, watermark: 2026-01-01T00:00:05Z}   # a watermark mark
//	  - {source: south, idle: true}  # an idle mark: south stops holding the watermark back
//	  - {source: south, partition: p1, records: [...]}   # records of one partition (its own watermark input)
//	  - {source: south, partition: p1, idle: true}       # one partition goes idle
//	  - advance: 10s                 # the clock moves; idle inputs stop holding the merge
//	  - expect: {merged: {count: 1}} # what the sinks have so far
//	  - {source: north, end: true}   # the source's input ends
//
// Sources not ended by a step end after the last one; the case's expect
// and dead_letters are then checked on everything.
package pipetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is a decoded test file.
type File struct {
	// Path is the test file's path, as given.
	Path string `yaml:"-"`
	// Pipeline is the pipeline file, relative to the test file.
	Pipeline string `yaml:"pipeline"`
	Cases    []Case `yaml:"cases"`

	text []byte
}

// Case is one test case.
type Case struct {
	Name string `yaml:"name"`
	// Inputs are the records fed to each source, by source name.
	Inputs map[string][]Input `yaml:"inputs"`
	// Expect is what each sink must have received, by service name (or
	// sink stage id).
	Expect map[string]*SinkExpect `yaml:"expect"`
	// DeadLetters is what the dead-letter sink must have received; nil:
	// nothing.
	DeadLetters []DeadLetterExpect `yaml:"dead_letters"`
	// Timeout bounds the run (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Clock is where the case's processing-time clock stands (RFC 3339);
	// default: the wall clock when the case starts.
	Clock string `yaml:"clock"`
	// Steps feed the pipeline in order instead of Inputs.
	Steps []Step `yaml:"steps"`
}

// Step is one step of a case: records, a watermark mark or the end of one
// source's input; a move of the clock; or expectations on what the sinks
// (and the dead-letter sink) have received so far.
type Step struct {
	Source string `yaml:"source"`
	// Partition, with records or idle, is the partition of the source
	// they are for: each partition is its own watermark input.
	Partition string        `yaml:"partition"`
	Records   []Input       `yaml:"records"`
	Watermark string        `yaml:"watermark"`
	Idle      bool          `yaml:"idle"`
	End       bool          `yaml:"end"`
	Advance   time.Duration `yaml:"advance"`
	// Expect and DeadLetters are checked against everything received so
	// far; DeadLetters nil: not checked at this step.
	Expect      map[string]*SinkExpect `yaml:"expect"`
	DeadLetters *[]DeadLetterExpect    `yaml:"dead_letters"`

	// Line is the step's line in the test file.
	Line int `yaml:"-"`
}

// UnmarshalYAML keeps the step's line, and refuses unknown keys as the
// strict decoder does elsewhere (Node.Decode would not).
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	type plain Step
	if n.Kind == yaml.MappingNode {
		keys := yamlKeys(reflect.TypeFor[Step]())
		var unknown []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(keys, k.Value) {
				unknown = append(unknown, fmt.Sprintf("line %d: field %s not found in type pipetest.Step", k.Line, k.Value))
			}
		}
		if unknown != nil {
			return &yaml.TypeError{Errors: unknown}
		}
	}
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	s.Line = n.Line
	return nil
}

// kind names what the step does, or says why it is not one thing.
func (s *Step) kind() (string, error) {
	var kinds []string
	if s.Records != nil {
		kinds = append(kinds, "records")
	}
	if s.Watermark != "" {
		kinds = append(kinds, "watermark")
	}
	if s.Idle {
		kinds = append(kinds, "idle")
	}
	if s.End {
		kinds = append(kinds, "end")
	}
	if s.Advance != 0 {
		kinds = append(kinds, "advance")
	}
	if s.Expect != nil || s.DeadLetters != nil {
		kinds = append(kinds, "expect")
	}
	switch {
	case len(kinds) == 0:
		return "", fmt.Errorf("a step needs one of records, watermark, idle or end (with source), advance, or expect/dead_letters")
	case len(kinds) > 1:
		return "", fmt.Errorf("a step does one thing; this one has %s", strings.Join(kinds, " and "))
	}
	k := kinds[0]
	switch k {
	case "records", "watermark", "idle", "end":
		if s.Source == "" {
			return "", fmt.Errorf("%s needs source: the source it is for", k)
		}
	default:
		if s.Source != "" {
			return "", fmt.Errorf("%s takes no source", k)
		}
	}
	if s.Partition != "" && k != "records" && k != "idle" {
		return "", fmt.Errorf("partition goes with records or idle, not %s", k)
	}
	if k == "advance" && s.Advance < 0 {
		return "", fmt.Errorf("advance %s: the clock does not go back", s.Advance)
	}
	return k, nil
}

// Input is one record fed to a source, or a file of them.
type Input struct {
	Payload   yaml.Node         `yaml:"payload"`
	Key       *string           `yaml:"key"`
	Metadata  map[string]string `yaml:"metadata"`
	EventTime string            `yaml:"event_time"`
	File      string            `yaml:"file"`
}

// RecordExpect describes an output record. Fields left out are not
// compared.
type RecordExpect struct {
	Payload   yaml.Node          `yaml:"payload"`
	Key       *string            `yaml:"key"`
	Metadata  *map[string]string `yaml:"metadata"`
	EventTime string             `yaml:"event_time"`
}

// SinkExpect is what one sink must have received.
type SinkExpect struct {
	// Count is the exact number of records.
	Count *int `yaml:"count"`
	// Records are exactly the records received (payloads equal as JSON;
	// key, metadata and event time equal where given), in any order
	// unless Ordered.
	Records *[]RecordExpect `yaml:"records"`
	Ordered bool            `yaml:"ordered"`
	// Contains are records each matched by a distinct record received:
	// the payload a JSON subset, metadata a subset, key and event time
	// equal where given.
	Contains []RecordExpect `yaml:"contains"`
	// Assert is a CEL condition (the variables of pipeline conditions)
	// that must hold for every record received.
	Assert Expr `yaml:"assert"`
}

// DeadLetterExpect matches dead letters.
type DeadLetterExpect struct {
	// ReasonContains is a substring of the reason.
	ReasonContains string `yaml:"reason_contains"`
	// Stage is the stage that dead-lettered the record.
	Stage string `yaml:"stage"`
	// Payload is a JSON subset of the dead-lettered record's payload.
	Payload yaml.Node `yaml:"payload"`
	// Count is how many dead letters match; nil: at least one.
	Count *int `yaml:"count"`
}

// Expr is a CEL expression with its position in the test file.
type Expr struct {
	Src       string
	Line, Col int
	Quoted    bool
	Block     bool
}

// UnmarshalYAML keeps the expression's position.
func (e *Expr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: assert must be a CEL expression (a string)", n.Line)
	}
	*e = Expr{Src: n.Value, Line: n.Line, Col: n.Column,
		Quoted: n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0,
		Block:  n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0}
	return nil
}

// Load reads and checks a test file.
func Load(path string) (*File, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read test file: %w", err)
	}
	f := &File{Path: path, text: text}
	if inPipeline(text) {
		// A pipeline file with its own tests: the other keys are the
		// pipeline's (the engine checks them).
		var pf struct {
			Tests []Case         `yaml:"tests"`
			Rest  map[string]any `yaml:",inline"`
		}
		d := yaml.NewDecoder(bytes.NewReader(text))
		d.KnownFields(true)
		if err := d.Decode(&pf); err != nil {
			return nil, yamlError(path, err)
		}
		f.Pipeline, f.Cases = filepath.Base(path), pf.Tests
		if len(f.Cases) == 0 {
			return nil, fmt.Errorf("%s: tests: no cases", path)
		}
	} else {
		d := yaml.NewDecoder(bytes.NewReader(text))
		d.KnownFields(true)
		if err := d.Decode(f); err != nil {
			return nil, yamlError(path, err)
		}
	}
	if f.Pipeline == "" {
		base := filepath.Base(path)
		ext := filepath.Ext(base)
		f.Pipeline = strings.TrimSuffix(strings.TrimSuffix(base, ext), "_test") + ext
	}
	if len(f.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	seen := map[string]bool{}
	for i, c := range f.Cases {
		if c.Name == "" {
			return nil, fmt.Errorf("%s: case %d has no name", path, i+1)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("%s: case %q is named twice", path, c.Name)
		}
		seen[c.Name] = true
		for src, ins := range c.Inputs {
			if err := checkInputs(ins); err != nil {
				return nil, fmt.Errorf("%s: case %q: source %q: %w", path, c.Name, src, err)
			}
		}
		if c.Clock != "" {
			if _, err := time.Parse(time.RFC3339Nano, c.Clock); err != nil {
				return nil, fmt.Errorf("%s: case %q: clock: %w", path, c.Name, err)
			}
		}
		if len(c.Steps) > 0 && c.Inputs != nil {
			return nil, fmt.Errorf("%s: case %q: give inputs or steps, not both (steps can hold records)", path, c.Name)
		}
		for _, st := range c.Steps {
			k, err := st.kind()
			if err == nil && k == "records" {
				err = checkInputs(st.Records)
			}
			if err == nil && k == "watermark" {
				_, err = time.Parse(time.RFC3339Nano, st.Watermark)
				if err != nil {
					err = fmt.Errorf("watermark: %w", err)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s:%d: case %q: %w", path, st.Line, c.Name, err)
			}
		}
	}
	return f, nil
}

func checkInputs(ins []Input) error {
	for j, in := range ins {
		if (in.File != "") == (in.Payload.Kind != 0) {
			return fmt.Errorf("input %d needs either payload or file", j+1)
		}
	}
	return nil
}

// inPipeline reports whether text is a pipeline file with a tests: list
// (a top-level tests: key, and no cases: key).
func inPipeline(text []byte) bool {
	return testsKey.Match(text) && !casesKey.Match(text)
}

var (
	testsKey = regexp.MustCompile(`(?m)^tests:`)
	casesKey = regexp.MustCompile(`(?m)^cases:`)
)

// PipelinePath is the pipeline file the test file names.
func (f *File) PipelinePath() string {
	if filepath.IsAbs(f.Pipeline) {
		return f.Pipeline
	}
	return filepath.Join(filepath.Dir(f.Path), f.Pipeline)
}

// Discover expands paths into test files: a file is taken as it is, a
// directory is searched (recursively) for *_test.yaml and *_test.yml
// files, and for pipeline files with a tests: list. No paths: the
// current directory.
func Discover(paths []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("test path: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(q string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if q != p && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "out") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(q, "_test.yaml") || strings.HasSuffix(q, "_test.yml") || hasTests(q) {
				out = append(out, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("test path: %w", err)
		}
	}
	return out, nil
}

// hasTests reports whether path is a YAML pipeline file with its own
// tests: list.
func hasTests(path string) bool {
	if !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml") {
		return false
	}
	if st, err := os.Stat(path); err != nil || st.Size() > 4<<20 {
		return false
	}
	text, err := os.ReadFile(path)
	return err == nil && inPipeline(text)
}

// nodeJSON returns a YAML value as JSON: a string is taken as the text
// itself (raw: JSON or not).
func nodeJSON(n *yaml.Node) ([]byte, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return []byte(n.Value), nil
	}
	var x any
	if err := n.Decode(&x); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("line %d: not JSON: %w", n.Line, err)
	}
	return b, nil
}
