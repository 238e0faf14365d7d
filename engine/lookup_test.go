package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/buger/jsonparser"
	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/jsonsplice"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// lookupPipeline is an orders pipeline whose lookup stage enriches orders
// with customers. %[1]s is the lookup stage's extra settings (indented by
// six spaces), %[2]s the customers service's table settings (four spaces).
const lookupPipeline = `id: enrich
settings: {batch_size: 3}
sources:
  - {name: orders, type: file, path: in.jsonl, key_field: order_id}
services:
  customers:
    type: static
%[2]s
  out: {type: file, path: out/out.jsonl}
stages:
  - id: enrich
    type: lookup
    lookup:
      lookup_service: customers
      key_mappings: [{record_field: customer_id, lookup_field: id}]
      result_field: customer
%[1]s
  - {id: out, type: sink, service_name: out}
edges:
  - {from: orders, to: enrich}
  - {from: enrich, to: out}
`

const customerRows = `    rows:
      - {id: c1, name: Ada, tier: gold}
      - {id: c2, name: Bob}
      - {id: 42, name: Num}`

const ordersIn = `{"order_id":1,"customer_id":"c1","total":10}
{"order_id":2,"customer_id":"c9","total":20}
{"order_id":3,"total":30}
{"order_id":4, "customer_id": "c2" ,"total":40}
[1,2]
{"order_id":5,"customer_id":42}
`

// deadLetters decodes the dead-letter output: one JSON object per line.
func deadLetters(t *testing.T, dl string) (reasons, payloads []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(dl), "\n") {
		if l == "" {
			continue
		}
		var env struct {
			Reason string
			Record struct{ Payload json.RawMessage }
		}
		if err := json.Unmarshal([]byte(l), &env); err != nil {
			t.Fatalf("dead letter is not JSON: %v\n%s", err, l)
		}
		reasons = append(reasons, env.Reason)
		payloads = append(payloads, string(env.Record.Payload))
	}
	return reasons, payloads
}

func TestLookupStage_Process_MissStrategies(t *testing.T) {
	const (
		o1 = `{"order_id":1,"customer_id":"c1","total":10,"customer":{"id":"c1","name":"Ada","tier":"gold"}}`
		o2 = `{"order_id":2,"customer_id":"c9","total":20}`
		o3 = `{"order_id":3,"total":30}`
		o4 = `{"order_id":4, "customer_id": "c2" ,"total":40,"customer":{"id":"c2","name":"Bob"}}`
		o5 = `{"order_id":5,"customer_id":42,"customer":{"id":42,"name":"Num"}}`
	)
	notObject := `lookup "enrich": payload is a JSON array, not an object`
	tests := []struct {
		name     string
		settings string
		out      []string
		reasons  []string // substrings, in order
		sum      Summary
		err      error
	}{
		{"skip", "      miss_strategy: skip", []string{o1, o2, o3, o4, o5}, []string{notObject},
			Summary{In: 6, Delivered: 5, DeadLettered: 1}, nil},
		{"empty is skip", "", []string{o1, o2, o3, o4, o5}, []string{notObject},
			Summary{In: 6, Delivered: 5, DeadLettered: 1}, nil},
		{"drop", "      miss_strategy: drop", []string{o1, o4, o5}, []string{notObject},
			Summary{In: 6, Delivered: 3, Dropped: 2, DeadLettered: 1}, nil},
		{"dead_letter", "      miss_strategy: dead_letter", []string{o1, o4, o5},
			[]string{`lookup "enrich": no match in "customers" for id="c9"`, `no match in "customers" for id=<missing>`, notObject},
			Summary{In: 6, Delivered: 3, DeadLettered: 3}, nil},
		{"default", "      miss_strategy: default\n      default: {name: unknown, score: 0}", []string{
			o1,
			`{"order_id":2,"customer_id":"c9","total":20,"customer":{"name":"unknown","score":0}}`,
			`{"order_id":3,"total":30,"customer":{"name":"unknown","score":0}}`,
			o4, o5}, []string{notObject},
			Summary{In: 6, Delivered: 5, DeadLettered: 1}, nil},
		{"default null", "      miss_strategy: default\n      default: null", []string{
			o1, `{"order_id":2,"customer_id":"c9","total":20,"customer":null}`, `{"order_id":3,"total":30,"customer":null}`, o4, o5},
			[]string{notObject}, Summary{In: 6, Delivered: 5, DeadLettered: 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", ordersIn)
			sum, dl, err := runFile(t, dir, fmt.Sprintf(lookupPipeline, tt.settings, customerRows))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got := readLines(t, filepath.Join(dir, "out/out.jsonl")); !slices.Equal(got, tt.out) {
				t.Errorf("out:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.out, "\n"))
			}
			reasons, _ := deadLetters(t, dl)
			if len(reasons) != len(tt.reasons) {
				t.Fatalf("dead letters %q, want %d", reasons, len(tt.reasons))
			}
			for i, want := range tt.reasons {
				if !strings.Contains(reasons[i], want) {
					t.Errorf("dead letter %d: %q, want it to contain %q", i, reasons[i], want)
				}
			}
			if sum.In != tt.sum.In || sum.Delivered != tt.sum.Delivered || sum.Dropped != tt.sum.Dropped ||
				sum.DeadLettered != tt.sum.DeadLettered || !sum.Balanced() {
				t.Errorf("summary %+v, want %+v", sum, tt.sum)
			}
		})
	}
}

func TestLookupStage_Process_FailStopsTheRun(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", ordersIn)
	sum, dl, err := runFile(t, dir, fmt.Sprintf(lookupPipeline, "      miss_strategy: fail", customerRows))
	if !errors.Is(err, ErrLookupMiss) {
		t.Fatalf("err = %v, want ErrLookupMiss", err)
	}
	if !strings.Contains(err.Error(), `stage "enrich"`) || !strings.Contains(err.Error(), `id="c9"`) || !strings.Contains(err.Error(), "orders#2") {
		t.Errorf("err = %v: want the stage, the key and the record's origin", err)
	}
	reasons, payloads := deadLetters(t, dl)
	if len(reasons) == 0 || !strings.Contains(reasons[0], "(miss_strategy: fail)") || payloads[0] != `{"order_id":2,"customer_id":"c9","total":20}` {
		t.Errorf("the missed record is not dead-lettered first: %q %q", reasons, payloads)
	}
	if !sum.Balanced() || sum.DeadLettered == 0 {
		t.Errorf("summary %+v", sum)
	}
}

func TestLookupStage_Process_Keys(t *testing.T) {
	tests := []struct {
		name    string
		mapping string // key_mappings
		rows    string
		in      string
		out     []string
	}{
		{
			name:    "composite key with a nested record field",
			mapping: `[{record_field: ship.country, lookup_field: country}, {record_field: ship.zone, lookup_field: zone}]`,
			rows: `    rows:
      - {country: FR, zone: 1, rate: 5}
      - {country: FR, zone: 2, rate: 7}
      - {country: DE, zone: 1, rate: 6}`,
			in: `{"order_id":1,"ship":{"country":"FR","zone":2}}
{"order_id":2,"ship":{"country":"DE","zone":1}}
{"order_id":3,"ship":{"country":"DE","zone":2}}
{"order_id":4,"ship":{"country":"FR"}}
`,
			out: []string{
				`{"order_id":1,"ship":{"country":"FR","zone":2},"customer":{"country":"FR","rate":7,"zone":2}}`,
				`{"order_id":2,"ship":{"country":"DE","zone":1},"customer":{"country":"DE","rate":6,"zone":1}}`,
				`{"order_id":3,"ship":{"country":"DE","zone":2},"customer":"none"}`,
				`{"order_id":4,"ship":{"country":"FR"},"customer":"none"}`,
			},
		},
		{
			name:    "numbers and strings compare by canonical text",
			mapping: `[{record_field: c, lookup_field: id}]`,
			rows: `    rows:
      - {id: "42", v: string 42}
      - {id: 7, v: number 7}
      - {id: 2.5, v: two and a half}
      - {id: true, v: yes}
      - {id: "12345678901234567891", v: big}`,
			in: `{"c":42}
{"c":42.0}
{"c":"7"}
{"c":7e0}
{"c":2.50}
{"c":"2.5"}
{"c":true}
{"c":"true"}
{"c":"042"}
{"c":12345678901234567891}
{"c":12345678901234567890}
{"c":null}
{"c":{"id":42}}
`,
			out: []string{
				`{"c":42,"customer":{"id":"42","v":"string 42"}}`,
				`{"c":42.0,"customer":{"id":"42","v":"string 42"}}`,
				`{"c":"7","customer":{"id":7,"v":"number 7"}}`,
				`{"c":7e0,"customer":{"id":7,"v":"number 7"}}`,
				`{"c":2.50,"customer":{"id":2.5,"v":"two and a half"}}`,
				`{"c":"2.5","customer":{"id":2.5,"v":"two and a half"}}`,
				`{"c":true,"customer":{"id":true,"v":"yes"}}`,
				`{"c":"true","customer":{"id":true,"v":"yes"}}`,
				`{"c":"042","customer":"none"}`,
				`{"c":12345678901234567891,"customer":{"id":"12345678901234567891","v":"big"}}`,
				`{"c":12345678901234567890,"customer":"none"}`,
				`{"c":null,"customer":"none"}`,
				`{"c":{"id":42},"customer":"none"}`,
			},
		},
		{
			name:    "record_field key is the record key",
			mapping: `[{record_field: key, lookup_field: order}]`,
			rows: `    rows:
      - {order: 1, note: first}
      - {order: "2", note: second}`,
			in: `{"order_id":1}
{"order_id":"2"}
{"order_id":3}
{"key":1}
`,
			out: []string{
				`{"order_id":1,"customer":{"note":"first","order":1}}`,
				`{"order_id":"2","customer":{"note":"second","order":"2"}}`,
				`{"order_id":3,"customer":"none"}`,
				`{"key":1,"customer":"none"}`,
			},
		},
		{
			name:    "the last of duplicate rows wins",
			mapping: `[{record_field: c, lookup_field: id}]`,
			rows: `    rows:
      - {id: a, v: 1}
      - {id: a, v: 2}`,
			in:  `{"c":"a"}` + "\n",
			out: []string{`{"c":"a","customer":{"id":"a","v":2}}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", tt.in)
			src := fmt.Sprintf(lookupPipeline, "      miss_strategy: default\n      default: none", tt.rows)
			src = strings.Replace(src, "[{record_field: customer_id, lookup_field: id}]", tt.mapping, 1)
			sum, dl, err := runFile(t, dir, src)
			if err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, filepath.Join(dir, "out/out.jsonl")); !slices.Equal(got, tt.out) {
				t.Errorf("out:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.out, "\n"))
			}
			if dl != "" || sum.Delivered != int64(len(tt.out)) {
				t.Errorf("summary %+v, dead letters %s", sum, dl)
			}
		})
	}
}

func TestLookupStage_Process_ResultField(t *testing.T) {
	tests := []struct {
		name, field, in, out, reason string
	}{
		{"top level, added", "r", `{"a":1,"c":"x"}`, `{"a":1,"c":"x","r":{"id":"x","n":1}}`, ""},
		{"top level, before the closing brace", "r", `{"c":"x" }`, `{"c":"x" ,"r":{"id":"x","n":1}}`, ""},
		{"top level, replaced in place", "c", `{"c":"x", "z":2}`, `{"c":{"id":"x","n":1}, "z":2}`, ""},
		{"nested, created", "enrich.customer", `{"c":"x"}`, `{"c":"x","enrich":{"customer":{"id":"x","n":1}}}`, ""},
		{"nested, added to an object", "m.r", `{"c":"x","m":{"k":true}}`, `{"c":"x","m":{"k":true,"r":{"id":"x","n":1}}}`, ""},
		{"nested, under a non-object", "c.r", `{"c":"x"}`, "", `result_field "c.r": "c" holds a value that is not an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", tt.in+"\n")
			src := fmt.Sprintf(lookupPipeline, "", "    rows: [{id: x, n: 1}]")
			src = strings.Replace(src, "record_field: customer_id", "record_field: c", 1)
			src = strings.Replace(src, "result_field: customer", "result_field: "+tt.field, 1)
			_, dl, err := runFile(t, dir, src)
			if err != nil {
				t.Fatal(err)
			}
			got := readLines(t, filepath.Join(dir, "out/out.jsonl"))
			if tt.reason != "" {
				reasons, _ := deadLetters(t, dl)
				if len(got) != 0 || len(reasons) != 1 || !strings.Contains(reasons[0], tt.reason) {
					t.Fatalf("out %q, dead letters %q; want one with %q", got, reasons, tt.reason)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.out {
				t.Fatalf("out %q, want %s (dead letters: %s)", got, tt.out, dl)
			}
		})
	}
}

func TestLookupStage_Process_StaticFromFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", ordersIn)
	writeFile(t, dir, "data/customers.jsonl", `{"id":"c1","name":"Ada from file"}

{"id":"c2","name":"Bob from file"}
`)
	src := fmt.Sprintf(lookupPipeline, "      miss_strategy: drop", "    path: data/customers.jsonl\n    index: [id]")
	sum, _, err := runFile(t, dir, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"order_id":1,"customer_id":"c1","total":10,"customer":{"id":"c1","name":"Ada from file"}}`,
		`{"order_id":4, "customer_id": "c2" ,"total":40,"customer":{"id":"c2","name":"Bob from file"}}`,
	}
	if got := readLines(t, filepath.Join(dir, "out/out.jsonl")); !slices.Equal(got, want) {
		t.Errorf("out:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.Delivered != 2 || sum.Dropped != 3 || sum.DeadLettered != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestLookupStage_Process_SharedServiceAndReplicas(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := range 500 {
		fmt.Fprintf(&in, `{"order_id":%d,"customer_id":"c%d"}`+"\n", i, i%4)
	}
	writeFile(t, dir, "in.jsonl", in.String())
	src := `id: shared
settings: {batch_size: 16}
sources: [{name: orders, type: file, path: in.jsonl}]
services:
  customers: {type: static, rows: [{id: c0, n: 0}, {id: c1, n: 1}, {id: c2, n: 2}]}
  out: {type: file, path: out/out.jsonl}
stages:
  - id: first
    type: lookup
    replicas: 3
    service_name: customers
    lookup: {key_mappings: [{record_field: customer_id, lookup_field: id}], result_field: a, miss_strategy: drop}
  - id: second
    type: lookup
    replicas: 2
    service_name: customers
    lookup: {key_mappings: [{record_field: a.id, lookup_field: id}], result_field: b.c}
  - {id: out, type: sink, service_name: out}
edges:
  - {from: orders, to: first}
  - {from: first, to: second}
  - {from: second, to: out}
`
	p, err := Load(writeFile(t, dir, "p.yaml", src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := r.stages[p.byID["first"].idx].proc.(*lookupStage), r.stages[p.byID["second"].idx].proc.(*lookupStage); a.svc != b.svc {
		t.Error("two stages naming one service got two services")
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out/out.jsonl"))
	if len(lines) != 375 || sum.Dropped != 125 || !sum.Balanced() {
		t.Fatalf("%d lines, summary %+v", len(lines), sum)
	}
	for _, l := range lines {
		v, err := fastjson.Parse(l)
		if err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		c := string(v.GetStringBytes("customer_id"))
		if got := string(v.GetStringBytes("a", "id")); got != c {
			t.Fatalf("a.id = %q for customer %q: %s", got, c, l)
		}
		if got := string(v.GetStringBytes("b", "c", "id")); got != c {
			t.Fatalf("b.c.id = %q for customer %q: %s", got, c, l)
		}
	}
}

// failingLookup is a lookup service whose batches fail.
type failingLookup struct{ connectors.LookupService }

func (failingLookup) LookupBatch(context.Context, []string, [][]string, [][]byte) error {
	return errors.New("connection refused")
}

func TestLookupStage_Process_ServiceErrorDeadLetters(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", ordersIn)
	p, err := Load(writeFile(t, dir, "p.yaml", fmt.Sprintf(lookupPipeline, "      miss_strategy: drop", customerRows)))
	if err != nil {
		t.Fatal(err)
	}
	var dl strings.Builder
	r, err := NewRunner(p, RunOptions{DeadLetterOut: &dl})
	if err != nil {
		t.Fatal(err)
	}
	ls := r.stages[p.byID["enrich"].idx].proc.(*lookupStage)
	ls.svc = failingLookup{ls.svc}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reasons, _ := deadLetters(t, dl.String())
	// Four records have a key and fail; order 3 (no key) is a miss, dropped.
	n := 0
	for _, re := range reasons {
		if strings.Contains(re, `lookup "enrich": service "customers": connection refused`) {
			n++
		}
	}
	if n != 4 || sum.Dropped != 1 || sum.DeadLettered != 5 || sum.Delivered != 0 {
		t.Errorf("summary %+v, reasons %q", sum, reasons)
	}
}

func TestCheckLookup_Errors(t *testing.T) {
	base := fmt.Sprintf(lookupPipeline, "      miss_strategy: drop", customerRows)
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown service", "lookup_service: customers", "lookup_service: customerz",
			[]string{`p.yaml:14:5: stage "enrich": unknown lookup service "customerz"`}},
		{"not a lookup service", "lookup_service: customers", "lookup_service: out",
			[]string{`p.yaml:14:5: stage "enrich": service "out" is of type file; a lookup stage needs a lookup service (static, wasm)`}},
		{"missing key_mappings", "      key_mappings: [{record_field: customer_id, lookup_field: id}]\n", "",
			[]string{`p.yaml:17:7: missing required key "key_mappings"`}},
		{"empty key_mappings", "[{record_field: customer_id, lookup_field: id}]", "[]",
			[]string{`p.yaml:17:7: stage "enrich": lookup needs at least one key_mappings entry`}},
		{"bad paths", "[{record_field: customer_id, lookup_field: id}]", "[{record_field: a..b, lookup_field: ''}]",
			[]string{`p.yaml:18:22: stage "enrich": key_mappings[0].record_field: bad field path "a..b"`,
				`p.yaml:18:22: stage "enrich": key_mappings[0].lookup_field: empty field path`}},
		{"field mapped twice", "[{record_field: customer_id, lookup_field: id}]", "[{record_field: a, lookup_field: id}, {record_field: b, lookup_field: id}]",
			[]string{`p.yaml:18:59: stage "enrich": key_mappings[1]: lookup_field "id" is mapped twice`}},
		{"empty result_field", "result_field: customer", "result_field: ''",
			[]string{`p.yaml:17:7: stage "enrich": lookup needs a result_field`}},
		{"bad strategy", "miss_strategy: drop", "miss_strategy: ignore",
			[]string{`p.yaml:17:7: stage "enrich": unknown miss_strategy "ignore" (want skip, drop, dead_letter, default or fail)`}},
		{"default without a value", "miss_strategy: drop", "miss_strategy: default",
			[]string{`p.yaml:17:7: stage "enrich": miss_strategy default needs a default value`}},
		{"default with another strategy", "miss_strategy: drop", "miss_strategy: drop\n      default: {x: 1}",
			[]string{`p.yaml:21:16: stage "enrich": default is only for miss_strategy default (miss_strategy is drop)`}},
		{"default not JSON", "miss_strategy: drop", "miss_strategy: default\n      default: {1: one}",
			[]string{`p.yaml:21:16: stage "enrich": default: cannot be JSON`}},
		{"field not indexed", "      - {id: 42, name: Num}", "      - {id: 42, name: Num}\n    index: [name]",
			[]string{`p.yaml:19:22: stage "enrich": key_mappings[0]: service "customers" cannot look up by "id" (it can by: name)`}},
		{"static without a table", customerRows, "    index: [id]",
			[]string{`p.yaml:7:5: service "customers": static lookup: set exactly one of path and rows`}},
		{"static with both", customerRows, customerRows + "\n    path: x.jsonl",
			[]string{`p.yaml:7:5: service "customers": static lookup: set exactly one of path and rows`}},
		{"lookup settings on another stage", "  - {id: out, type: sink, service_name: out}", "  - {id: out, type: sink, service_name: out, lookup: {result_field: x, key_mappings: [{record_field: a, lookup_field: b}]}}",
			[]string{`p.yaml:21:5: stage "out": lookup is only for lookup stages`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("test pipeline has no %q", tt.old)
			}
			_, err := Load(writeFile(t, t.TempDir(), "p.yaml", strings.Replace(base, tt.old, tt.new, 1)))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

func TestCheckLookup_DefaultsToSkip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "")
	p, err := Load(writeFile(t, dir, "p.yaml", fmt.Sprintf(lookupPipeline, "", customerRows)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(p, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.closeAll(context.Background())
	if got := r.stages[p.byID["enrich"].idx].proc.(*lookupStage).miss; got != LookupMissSkip {
		t.Errorf("miss_strategy = %q, want skip", got)
	}
}

// parsePlan parses and compiles a pipeline.
func parsePlan(file string, src []byte) (*Plan, error) {
	p, err := Parse(file, src)
	if err != nil {
		return nil, err
	}
	return p.Compile()
}

func TestRoutingEngine_Lookup(t *testing.T) {
	tests := []struct {
		strategy string
		payload  string
		found    bool
		value    string
		record   string // "" : nil record
		err      string
	}{
		{"skip", `{"customer_id":"c1"}`, true, `{"id":"c1","name":"Ada","tier":"gold"}`,
			`{"customer_id":"c1","customer":{"id":"c1","name":"Ada","tier":"gold"}}`, ""},
		{"skip", `{"customer_id":"c9"}`, false, "", `{"customer_id":"c9"}`, ""},
		{"drop", `{"customer_id":"c9"}`, false, "", "", ""},
		{"dead_letter", `{"x":1}`, false, "", "", ""},
		{"default\n      default: 0", `{"customer_id":"c9"}`, false, "0", `{"customer_id":"c9","customer":0}`, ""},
		{"fail", `{"customer_id":"c9"}`, false, "", "", `stage "enrich": lookup key not found: id="c9" in "customers"`},
		{"fail", `{"customer_id":42}`, true, `{"id":42,"name":"Num"}`, `{"customer_id":42,"customer":{"id":42,"name":"Num"}}`, ""},
		{"skip", `not json`, false, "", "", `lookup "enrich": payload is not JSON`},
	}
	e := NewRoutingEngine()
	for _, tt := range tests {
		t.Run(tt.strategy+" "+tt.payload, func(t *testing.T) {
			src := fmt.Sprintf(lookupPipeline, "      miss_strategy: "+tt.strategy, customerRows)
			p, err := parsePlan("p.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			in := record.New("k", []byte(tt.payload))
			res, err := e.Lookup(context.Background(), p, "enrich", in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(tt.err, "not found") && !errors.Is(err, ErrLookupMiss) {
					t.Errorf("err = %v: not ErrLookupMiss", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Found != tt.found || string(res.Value) != tt.value {
				t.Errorf("found %v value %s, want %v %s", res.Found, res.Value, tt.found, tt.value)
			}
			switch {
			case tt.record == "" && res.Record != nil:
				t.Errorf("record %s, want nil", res.Record.Payload)
			case tt.record != "" && (res.Record == nil || string(res.Record.Payload) != tt.record):
				t.Errorf("record %v, want %s", res.Record, tt.record)
			}
			if string(in.Payload) != tt.payload {
				t.Errorf("input modified: %s", in.Payload)
			}
		})
	}
}

func TestRoutingEngine_Lookup_ServicesGoWithThePipeline(t *testing.T) {
	cached := func(wp weak.Pointer[Plan]) bool {
		lookupCaches.Lock()
		defer lookupCaches.Unlock()
		_, ok := lookupCaches.m[wp]
		return ok
	}
	wp := func() weak.Pointer[Plan] {
		p, err := parsePlan("p.yaml", []byte(fmt.Sprintf(lookupPipeline, "", customerRows)))
		if err != nil {
			t.Fatal(err)
		}
		e := NewRoutingEngine()
		for range 3 {
			if _, err := e.Lookup(context.Background(), p, "enrich", record.New("", []byte(`{"customer_id":"c1"}`))); err != nil {
				t.Fatal(err)
			}
		}
		c := lookupsOf(p)
		if len(c.svcs) != 1 || len(c.stages) != 1 {
			t.Fatalf("%d services, %d stages built for one stage", len(c.svcs), len(c.stages))
		}
		wp := weak.Make(p)
		if !cached(wp) {
			t.Fatal("the pipeline's lookups are not cached")
		}
		return wp
	}()
	// The pipeline is unreachable now: a collection must drop its services.
	for i := 0; cached(wp); i++ {
		if i == 1000 {
			t.Fatal("the lookup services of a collected pipeline are still cached")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

func TestRoutingEngine_Lookup_NotALookupStage(t *testing.T) {
	p, err := parsePlan("p.yaml", []byte(fmt.Sprintf(lookupPipeline, "", customerRows)))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"out", "nope", "orders"} {
		if _, err := NewRoutingEngine().Lookup(context.Background(), p, id, record.New("", []byte(`{}`))); err == nil ||
			!strings.Contains(err.Error(), "is not a lookup stage") {
			t.Errorf("Lookup at %q: err = %v", id, err)
		}
	}
}

func TestRoutingEngine_Lookup_ServiceBuildError(t *testing.T) {
	dir := t.TempDir()
	p, err := parsePlan(filepath.Join(dir, "p.yaml"), []byte(fmt.Sprintf(lookupPipeline, "", "    path: missing.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRoutingEngine().Lookup(context.Background(), p, "enrich", record.New("", []byte(`{"customer_id":"c1"}`)))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), `lookup service "customers" (static)`) {
		t.Errorf("err = %v", err)
	}
}

func TestAppendSet(t *testing.T) {
	tests := []struct {
		doc, path, val, want, err string
	}{
		{`{}`, "a", `1`, `{"a":1}`, ""},
		{` { } `, "a", `1`, ` {"a":1 } `, ""},
		{`{"a":1}`, "b", `2`, `{"a":1,"b":2}`, ""},
		{`{"a" : 1 , "b":[1,{"b":2}] }`, "b", `"x"`, `{"a" : 1 , "b":"x" }`, ""},
		{`{"a":"}\"","b":1}`, "b", `null`, `{"a":"}\"","b":null}`, ""},
		{`{"x\u0041":1}`, "xA", `2`, `{"x\u0041":2}`, ""},
		{`{"a":1,"a":2}`, "a", `3`, `{"a":3,"a":2}`, ""},
		{`{"a":{"b":{}}}`, "a.b.c", `true`, `{"a":{"b":{"c":true}}}`, ""},
		{`{"a":{"z":0}}`, "a.b.c", `true`, `{"a":{"z":0,"b":{"c":true}}}`, ""},
		{`{"q":0}`, "a.b.c", `[]`, `{"q":0,"a":{"b":{"c":[]}}}`, ""},
		{`{"a":[1]}`, "a.b", `1`, "", `"a" holds a value that is not an object`},
		{`{"a":{"b":5}}`, "a.b.c", `1`, "", `"a.b" holds a value that is not an object`},
		{`[1]`, "a", `1`, "", `not an object`},
		{`{"a":1`, "b", `1`, "", `unterminated object`},
		{`{"we\"ird":1}`, `we"ird`, `2`, `{"we\"ird":2}`, ""},
		{`{}`, `we"ird`, `2`, `{"we\"ird":2}`, ""},
	}
	for _, tt := range tests {
		path := strings.Split(tt.path, ".")
		got, err := appendSet([]byte("prefix:"), []byte(tt.doc), nil, path, []byte(tt.val))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("appendSet(%s, %s): err = %v, want %q", tt.doc, tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != "prefix:"+tt.want {
			t.Errorf("appendSet(%s, %s, %s) = %s, %v; want prefix:%s", tt.doc, tt.path, tt.val, got, err, tt.want)
		}
		// With the parsed document, the result is the same JSON (a new
		// member may go elsewhere among the spaces).
		v, err := fastjson.Parse(tt.doc)
		if err != nil {
			t.Fatal(err)
		}
		got, err = appendSet(nil, []byte(tt.doc), v, path, []byte(tt.val))
		if err != nil || compactJSON(t, got) != compactJSON(t, []byte(tt.want)) {
			t.Errorf("appendSet(%s, %s, %s) with parsed doc = %s, %v; want %s", tt.doc, tt.path, tt.val, got, err, tt.want)
		}
	}
}

func compactJSON(t testing.TB, b []byte) string {
	t.Helper()
	v, err := fastjson.ParseBytes(b)
	if err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v.String()
}

// FuzzAppendSet checks on any JSON object that the result is valid JSON with
// the value at the path and every other top-level member unchanged.
func FuzzAppendSet(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, ` {"a" : {"b": [1, "]}"]}, "c": null } `, `{"a":{"b":{}}}`, `{"\u0061":"x"}`, `{"a":1,"a":2}`} {
		f.Add(s, "a.b")
		f.Add(s, "a")
		f.Add(s, "c")
	}
	f.Fuzz(func(t *testing.T, doc, path string) {
		var p fastjson.Parser
		v, err := p.Parse(doc)
		if err != nil || v.Type() != fastjson.TypeObject || checkPath(path) != nil {
			return
		}
		segs := strings.Split(path, ".")
		for _, parsed := range []*fastjson.Value{nil, v} {
			got, err := appendSet(nil, []byte(doc), parsed, segs, []byte(`{"set":true}`))
			if err != nil {
				// Only a non-object on the way is an error for a valid object.
				if !strings.Contains(err.Error(), "is not an object") {
					t.Fatalf("appendSet(%q, %q): %v", doc, path, err)
				}
				continue
			}
			var q fastjson.Parser
			w, err := q.ParseBytes(got)
			if err != nil {
				t.Fatalf("appendSet(%q, %q) = %q: not JSON: %v", doc, path, got, err)
			}
			if !w.GetBool(append(segs, "set")...) {
				t.Fatalf("appendSet(%q, %q) = %q: value not at the path", doc, path, got)
			}
			v.GetObject().Visit(func(k []byte, old *fastjson.Value) {
				if string(k) == segs[0] || strings.Contains(doc, `\`) {
					return // escaped keys: Visit and Get may disagree on duplicates
				}
				if nv := w.Get(string(k)); nv == nil || nv.String() != v.Get(string(k)).String() {
					t.Fatalf("appendSet(%q, %q) = %q: member %q changed", doc, path, got, k)
				}
			})
		}
	})
}

// BenchmarkLookupStage_Process measures the lookup stage alone: 100k
// records of ~100 bytes in batches of 1024, each found in a static table of
// 1000 rows and enriched.
func BenchmarkLookupStage_Process(b *testing.B) {
	b.Run("parsed", func(b *testing.B) { benchLookupStage(b, false) })
	b.Run("validated", func(b *testing.B) { benchLookupStage(b, true) })
}

// benchLookupStage enriches 100k records; validated marks their payloads
// as a source that checked them does, so the key is scanned, not parsed.
func benchLookupStage(b *testing.B, validated bool) {
	const n = 100_000
	rows := make([]map[string]any, 1000)
	for i := range rows {
		rows[i] = map[string]any{"id": fmt.Sprintf("u%d", i), "name": fmt.Sprintf("user %d", i), "tier": "gold"}
	}
	svc, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Rows: rows}, "")
	if err != nil {
		b.Fatal(err)
	}
	n0 := &node{id: "enrich", stage: &Stage{ID: "enrich", Type: StageLookup, Lookup: &LookupConfig{
		KeyMappings: []LookupKeyMapping{{RecordField: "user_id", LookupField: "id"}},
		ResultField: "user", MissStrategy: LookupMissDrop,
	}}}
	ls, err := newLookupStage(n0, svc)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*record.Record, n)
	payloads := make([][]byte, n)
	for i := range recs {
		payloads[i] = fmt.Appendf(nil, `{"id":%d,"user_id":"u%d","type":"click","active":true,"amount":%d.5,"ts":%d}`, i, i%1000, i%997, 1767225600000+i)
		recs[i] = record.New("", payloads[i])
	}
	w := &batchCtx{stage: "enrich"}
	var out []*record.Record
	b.ResetTimer()
	for b.Loop() {
		for i, r := range recs {
			r.SetPayload(payloads[i])
			if validated {
				r.MarkValidJSON()
			}
		}
		for i := 0; i < n; i += 1024 {
			batch := recs[i:min(i+1024, n)]
			out = ls.process(context.Background(), w, batch, out[:0])
			if len(out) != len(batch) {
				b.Fatalf("%d records out of %d", len(out), len(batch))
			}
			for _, r := range out {
				r.Release() // as the sink does
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPipeline_FileLookup runs the end-to-end benchmark input through a
// lookup stage that enriches every event with its user.
func BenchmarkPipeline_FileLookup(b *testing.B) {
	dir := benchInput(b, 200_000)
	var users strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&users, `{"id":"u%d","name":"user %d","tier":"gold"}`+"\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.jsonl"), []byte(users.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, `services:
  users: {type: static, path: users.jsonl}
  out: {type: file, path: out/lookup.jsonl}
stages:
  - id: enrich
    type: lookup
    lookup: {lookup_service: users, key_mappings: [{record_field: user_id, lookup_field: id}], result_field: user, miss_strategy: dead_letter}
  - {id: out, type: sink, service_name: out}
edges: [{from: events, to: enrich}, {from: enrich, to: out}]
`)
}

// The scan path gives exactly the keys the parse path gives, on every
// payload shape, or leaves the record to the parse path.
func TestLookupStage_ScanKey_SameAsParse(t *testing.T) {
	ls := &lookupStage{from: [][]string{{"a"}, nil, {"n", "b"}}, fields: []string{"x", "k", "y"}}
	for _, payload := range []string{
		`{"a":"c1","n":{"b":2}}`, `{"a":"c\"1","n":{"b":2.50}}`, `{"a":1e2,"n":{"b":true}}`, `{"a":"x","n":{"b":null}}`,
		`{"a":"x"}`, `{"n":{"b":1}}`, `{"a":{"b":1},"n":{"b":1}}`, `{"a":[1],"n":{"b":1}}`, ` {"a":"x","a":"y","n":{"b":-0}}`,
		`{"n":{"b":1},"a":"\u00e9"}`, `{"a\u0062":6,"a":7,"n":{"b":1}}`, `{"\u0061":"esc","a":"plain","n":{"b":1}}`, `{"x":{"a":"deep"},"a":"top","n":{"b":"v"}}`, `[1,2]`, `"str"`, `{"a":"x","n":1}`,
	} {
		for _, key := range []string{"", "k1"} {
			rec := record.New(key, []byte(payload))
			rec.MarkValidJSON()
			sbuf, sends, sok, decided := ls.scanKey(rec, nil, nil)
			v, err := rec.JSON()
			if !decided {
				if err == nil && v.Type() == fastjson.TypeObject && !strings.Contains(payload, `\`) {
					t.Errorf("%s: the scan left an object payload without escapes undecided", payload)
				}
				continue
			}
			pbuf, pends, pok := ls.appendKey(rec, v, nil, nil)
			if sok != pok || (sok && (string(sbuf) != string(pbuf) || fmt.Sprint(sends) != fmt.Sprint(pends))) {
				t.Errorf("%s key %q: scan %q %v %v, parse %q %v %v", payload, key, sbuf, sends, sok, pbuf, pends, pok)
			}
		}
	}
}

// appendSet appends to dst the JSON object doc with the member at path set
// to val (a JSON document); see jsonsplice.Path.AppendSet. parsed, when not
// nil, is doc parsed: a missing top-level member then goes before the
// closing brace without scanning doc. The stage keeps its path parsed and
// calls setResult; this form lets the tests give a path as segments.
func appendSet(dst, doc []byte, parsed *fastjson.Value, path []string, val []byte) ([]byte, error) {
	p, err := jsonsplice.ParsePath(strings.Join(path, "."))
	if err != nil {
		return dst, err
	}
	return setResult(dst, doc, parsed, p, val)
}

// topMember, the scan of a one-name key_mappings path, gives what
// jsonparser gives on every valid, escape-free object, or says it is
// unsure.
func TestTopMember_SameAsJSONParser(t *testing.T) {
	t.Parallel()
	docs := []string{
		`{}`, `{ }`, `{"a":1}`, `{"a":"x","a":"y"}`, `{ "a" : "x" , "b" : 2 }`, `{"b":{"a":1},"a":2}`,
		`{"b":[{"a":1},"]"],"a":[1,2]}`, `{"b":"{\"","a":3}`, `{"a":{"c":[1,{"d":"}"}]}}`, `{"a":null}`, `{"a":true,"b":false}`,
		`{"a":-1.5e3}`, `{"ab":1,"a":2}`, `{"":1,"a":""}`, `{"b":"a","c":"\"a\""}`, `{"x":1}`, "{\"a\"\t:\n7\r}",
		`{"id":0,"user":"u495","amount":603,"country":"IT","type":"buy","ts":1767225600000}`,
	}
	for _, doc := range docs {
		checkTopMember(t, doc, "a")
		checkTopMember(t, doc, "user")
	}
}

func checkTopMember(t *testing.T, doc, name string) {
	t.Helper()
	if fastjson.Validate(doc) != nil || strings.Contains(doc, `\`) {
		return
	}
	raw, found, sure := topMember([]byte(doc), name)
	if !sure {
		t.Errorf("topMember(%s, %q): unsure on a valid escape-free object", doc, name)
		return
	}
	want, typ, off, err := jsonparser.Get([]byte(doc), name)
	if errors.Is(err, jsonparser.KeyPathNotFoundError) {
		if found {
			t.Errorf("topMember(%s, %q) = %s, jsonparser finds none", doc, name, raw)
		}
		return
	}
	if err != nil {
		t.Fatalf("jsonparser.Get(%s, %q): %v", doc, name, err)
	}
	if typ == jsonparser.String {
		want = []byte(doc)[off-len(want)-2 : off]
	}
	if !found || string(raw) != string(want) {
		t.Errorf("topMember(%s, %q) = %s, %v; jsonparser: %s", doc, name, raw, found, want)
	}
	// And the parser agrees on the value.
	v := fastjson.MustParse(doc).Get(name)
	if v == nil || v.String() != fastjson.MustParse(string(raw)).String() {
		t.Errorf("topMember(%s, %q) = %s; fastjson: %v", doc, name, raw, v)
	}
}

func FuzzTopMember(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"b":{"a":[1,"}"]},"a":"x"}`, ` { "a" : [ ] } `, `{"a":1,"a":2}`} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, doc, name string) {
		if !strings.HasPrefix(doc, "{") || strings.ContainsAny(name, "\"\\") {
			return
		}
		checkTopMember(t, doc, name)
	})
}

// The stage's setResult (absentTop with the name prepared at build time)
// gives what the package's setResult gives, parsed or not.
func TestLookupStage_SetResult_SameAsSlowPath(t *testing.T) {
	t.Parallel()
	docs := []string{
		`{}`, ` {} `, `{"a":1}`, `{"r":1}`, `{"a":"r"}`, `{"a":"\"r\""}`, `{"x":{"r":1}}`, ` {"a":1} `, `{"a":1,"r":{"s":2}}`,
		`{"r\u0073":1}`, `{"a":"\u0072"}`, `[1]`, `{"ab":1}`,
	}
	svc, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Rows: []map[string]any{{"id": "x"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, result := range []string{"r", "rs", "r.s", "a"} {
		n := &node{id: "l", stage: &Stage{ID: "l", Type: StageLookup, Lookup: &LookupConfig{
			KeyMappings: []LookupKeyMapping{{RecordField: "k", LookupField: "id"}}, ResultField: result,
		}}}
		ls, err := newLookupStage(n, svc)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range docs {
			for _, parsed := range []bool{false, true} {
				rec := record.New("", []byte(doc))
				rec.MarkValidJSON()
				var v *fastjson.Value
				if parsed {
					v, _ = rec.JSON()
				}
				got, gerr := ls.setResult([]byte("p:"), rec, []byte(`{"v":1}`))
				want, werr := setResult([]byte("p:"), []byte(doc), v, ls.result, []byte(`{"v":1}`))
				if string(got) != string(want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
					t.Errorf("%s at %s (parsed %v): %s, %v; slow path %s, %v", doc, result, parsed, got, gerr, want, werr)
				}
			}
		}
	}
}
