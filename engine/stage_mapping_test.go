package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/internal/jsonsplice"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// runMapping runs in.jsonl through the stages (which must end in a stage
// named out) and returns the written lines and the dead-letter reasons.
func runMapping(t *testing.T, in, stages string) (lines, reasons []string, sum Summary) {
	t.Helper()
	return runMappingEdges(t, in, stages, `[{from: in, to: m}, {from: m, to: s}]`)
}

func runMappingEdges(t *testing.T, in, stages, edges string) (lines, reasons []string, sum Summary) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", in)
	sum, dl, err := runFile(t, dir, `id: m
sources: [{name: in, type: file, path: in.jsonl}]
services: {out: {type: file, path: out.jsonl}}
stages:
`+stages+`
  - {id: s, type: sink, service_name: out}
edges: `+edges+`
`)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Balanced() {
		t.Fatalf("summary %s", sum)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.jsonl")); err == nil {
		lines = readLines(t, filepath.Join(dir, "out.jsonl"))
	}
	reasons, _ = deadLetters(t, dl)
	return lines, reasons, sum
}

func TestMappingStage_Set_Conversions(t *testing.T) {
	const in = `{"id":1,"price":2.5,"qty":3,"name":"a\"b","user":{"tier":"gold","tags":["x"]}}` + "\n"
	for _, c := range []struct{ expr, want string }{
		{`record.payload.qty * 2`, `6`},
		{`uint(record.payload.qty)`, `3`},
		{`record.payload.price * double(record.payload.qty)`, `7.5`},
		{`record.payload.price * 2.0`, `5`},
		{`1e-7`, `1e-7`},
		{`record.payload.name + "\n"`, `"a\"b\n"`},
		{`b"hi"`, `"aGk="`},
		{`record.payload.qty > 2`, `true`},
		{`null`, `null`},
		{`timestamp("2026-01-02T03:04:05.120+01:00")`, `"2026-01-02T02:04:05.12Z"`},
		{`duration("90m")`, `"5400s"`},
		{`[1, "two", [3.5], {"k": null}]`, `[1,"two",[3.5],{"k":null}]`},
		{`{"z": 1, "a": {"y": [true], "b": b"\x00"}}`, `{"a":{"b":"AA==","y":[true]},"z":1}`},
		{`record.payload.user`, `{"tier":"gold","tags":["x"]}`},
		{`record.payload.user.tags + ["y"]`, `["x","y"]`},
		{`record.metadata`, `{}`},
	} {
		t.Run(c.expr, func(t *testing.T) {
			lines, reasons, _ := runMapping(t, in, fmt.Sprintf(`  - {id: m, type: mapping, set: {v: %q}}`, c.expr))
			want := `{"id":1,"price":2.5,"qty":3,"name":"a\"b","user":{"tier":"gold","tags":["x"]},"v":` + c.want + `}`
			if len(reasons) > 0 || len(lines) != 1 || lines[0] != want {
				t.Fatalf("got %q, dead letters %q\nwant %s", lines, reasons, want)
			}
		})
	}
}

func TestMappingStage_Set_PathsAndOrder(t *testing.T) {
	const in = `{"id":1, "user":{"name":"ann"}, "n":2}
{"id":2,"user":{"name":"bob","age":3}}
`
	lines, reasons, _ := runMapping(t, in, `  - id: m
    type: mapping
    set:
      total: record.payload.id * 10
      user.name: record.payload.user.name.upperAscii()
      a.b.c: record.payload.id
      user.address.city: '"Oslo"'`)
	want := []string{
		`{"id":1, "user":{"name":"ANN","address":{"city":"Oslo"}}, "n":2,"total":10,"a":{"b":{"c":1}}}`,
		`{"id":2,"user":{"name":"BOB","age":3,"address":{"city":"Oslo"}},"total":20,"a":{"b":{"c":2}}}`,
	}
	if len(reasons) > 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s\ndead letters %q", strings.Join(lines, "\n"), strings.Join(want, "\n"), reasons)
	}
}

func TestMappingStage_Remove(t *testing.T) {
	const in = `{"id":1,"secret":"x","user":{"ssn":"1","name":"ann"},"dup":1,"dup":2}
{"id":2}
{"id":3,"user":"flat"}
`
	lines, reasons, _ := runMapping(t, in, `  - {id: m, type: mapping, remove: [secret, user.ssn, dup, nothing.here]}`)
	want := []string{`{"id":1,"user":{"name":"ann"}}`, `{"id":2}`, `{"id":3,"user":"flat"}`}
	if len(reasons) > 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, dead letters %q", lines, reasons)
	}
}

func TestMappingStage_Payload_ThenSetThenRemove(t *testing.T) {
	// Every expression reads the record as it arrived: set sees the old
	// payload, not the one payload built.
	const in = `{"id":7,"first":"Ada","last":"Lovelace","pw":"x"}` + "\n"
	lines, reasons, _ := runMapping(t, in, `  - id: m
    type: mapping
    payload: '{"user": {"name": record.payload.first + " " + record.payload.last, "pw": record.payload.pw}, "id": record.payload.id}'
    set: {user.initial: "record.payload.first.substring(0, 1)", had_user: has(record.payload.user)}
    remove: [user.pw]`)
	want := `{"id":7,"user":{"name":"Ada Lovelace","initial":"A"},"had_user":false}`
	if len(reasons) > 0 || len(lines) != 1 || lines[0] != want {
		t.Fatalf("got %q, dead letters %q\nwant %s", lines, reasons, want)
	}
}

func TestMappingStage_Payload_NotAnObject(t *testing.T) {
	const in = `{"items":[1,2,3]}` + "\n"
	lines, reasons, _ := runMapping(t, in, `  - {id: m, type: mapping, payload: "record.payload.items.map(x, x * 2)"}`)
	if len(reasons) > 0 || len(lines) != 1 || lines[0] != `[2,4,6]` {
		t.Fatalf("got %q, dead letters %q", lines, reasons)
	}
}

func TestMappingStage_KeyAndEventTime(t *testing.T) {
	const in = `{"user":"u1","n":1,"ts":"2026-03-04T05:06:07.5Z"}
{"user":"u2","n":2,"ts":1767225600}
{"user":"u3","n":3,"ts":1767225600.25}
`
	lines, reasons, _ := runMappingEdges(t, in, `  - id: m
    type: mapping
    key: record.payload.user + "-" + string(record.payload.n)
    event_time: record.payload.ts
  - id: show
    type: mapping
    set: {k: record.key, t: record.event_time}
    remove: [ts]`, `[{from: in, to: m}, {from: m, to: show}, {from: show, to: s}]`)
	// The second mapping shows what the first one set.
	want := []string{
		`{"user":"u1","n":1,"k":"u1-1","t":"2026-03-04T05:06:07.5Z"}`,
		`{"user":"u2","n":2,"k":"u2-2","t":"2026-01-01T00:00:00Z"}`,
		`{"user":"u3","n":3,"k":"u3-3","t":"2026-01-01T00:00:00.25Z"}`,
	}
	if len(reasons) > 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\ndead letters %q", strings.Join(lines, "\n"), reasons)
	}
}

func TestMappingStage_Errors_DeadLettered(t *testing.T) {
	for _, c := range []struct {
		name, in, stage, want string
	}{
		{"missing field", `{"price":2}`, `{id: m, type: mapping, set: {total: "record.payload.price * record.payload.qty"}}`,
			`mapping "m": set "total": no such key: qty`},
		{"type mismatch", `{"price":"2","qty":1}`, `{id: m, type: mapping, set: {total: "record.payload.price * record.payload.qty"}}`,
			`mapping "m": set "total": no such overload: _*_(string, int)`},
		{"not an object", `[1,2]`, `{id: m, type: mapping, set: {total: "1"}}`,
			`mapping "m": set "total": the payload is not a JSON object`},
		{"not an object for remove", `"text"`, `{id: m, type: mapping, remove: [a]}`,
			`mapping "m": remove "a": the payload is not a JSON object`},
		{"payload replaced by a list, then set", `{"l":[1]}`, `{id: m, type: mapping, payload: record.payload.l, set: {x: "1"}}`,
			`mapping "m": set "x": the payload is not a JSON object`},
		{"a value on the path", `{"a":5}`, `{id: m, type: mapping, set: {a.b: "1"}}`,
			`mapping "m": set "a.b": "a" holds a value that is not an object`},
		{"infinity", `{"n":1,"z":0.0}`, `{id: m, type: mapping, set: {r: "double(record.payload.n) / record.payload.z"}}`,
			`mapping "m": set "r": double +Inf cannot be written as JSON`},
		{"non-string key", `{"n":1}`, `{id: m, type: mapping, payload: "dyn({record.payload.n: 1})"}`,
			`mapping "m": payload: map key 1 is a int: JSON object keys must be strings`},
		{"key", `{"n":1}`, `{id: m, type: mapping, key: record.payload.user}`,
			`mapping "m": key: no such key: user`},
		{"event time", `{"ts":"yesterday"}`, `{id: m, type: mapping, event_time: record.payload.ts}`,
			`mapping "m": event_time: event time: parsing time "yesterday"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines, reasons, sum := runMapping(t, c.in+"\n", "  - "+c.stage)
			if len(reasons) != 1 || !strings.HasPrefix(reasons[0], c.want) || sum.DeadLettered != 1 {
				t.Fatalf("dead letters %q, want one starting with %q", reasons, c.want)
			}
			if len(lines) > 0 {
				t.Fatalf("the failed record was written: %q", lines)
			}
		})
	}
}

func TestMappingStage_Compile_Errors(t *testing.T) {
	for _, c := range []struct {
		name, stage string
		want        []string
	}{
		{"bad CEL", `  - id: m
    type: mapping
    set:
      total: record.payload.price *`, []string{`p.yaml:8:36: stage "m": set "total": Syntax error: mismatched input '<EOF>'`, " | record.payload.price *\n | ......................^"}},
		{"undeclared", `  - {id: m, type: mapping, key: qty + 1}`, []string{`p.yaml:5:33: stage "m": key: undeclared reference to 'qty'`}},
		{"payload of a type JSON cannot hold", `  - {id: m, type: mapping, payload: "{1: 2}"}`, []string{`p.yaml:5:38: stage "m": payload: value of type map(int, int) cannot be written as JSON: object keys must be strings`}},
		{"set paths collide", `  - id: m
    type: mapping
    set:
      a: "1"
      a.b: "2"`, []string{`p.yaml:9:12: stage "m": set "a" and "a.b" collide: one is inside the other`}},
		{"remove undoes set", `  - {id: m, type: mapping, set: {a.b: "1"}, remove: [a]}`, []string{`p.yaml:5:5: stage "m": remove "a" would remove what set "a.b" stores`}},
		{"bad path", `  - {id: m, type: mapping, set: {a..b: "1"}, remove: [""]}`, []string{`p.yaml:5:40: stage "m": set "a..b": bad field path "a..b"`, `p.yaml:5:5: stage "m": remove "": empty field path`}},
		{"empty", `  - {id: m, type: mapping}`, []string{`p.yaml:5:5: stage "m": a mapping stage needs payload, set, remove, key or event_time`}},
		{"mapping keys on another type", `  - {id: m, type: filter, condition: "true", payload: "{}", event_time: "0"}`, []string{
			`p.yaml:5:5: stage "m": payload is only for mapping stages`, `p.yaml:5:5: stage "m": event_time is only for mapping stages`}},
		{"condition on a mapping", `  - {id: m, type: mapping, key: '"k"', condition: "true"}`, []string{`p.yaml:5:5: stage "m": condition is only for filter stages`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Load(writeFile(t, dir, "p.yaml", `id: m
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages:
`+c.stage+`
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: m}, {from: m, to: s}]
`))
			if err == nil {
				t.Fatal("loaded")
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Join(dir, "p.yaml"), "p.yaml")
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
		})
	}
}

// orderLine is a ~100-byte order, the mapping benchmarks' record.
func orderLine(i int) string {
	return fmt.Sprintf(`{"id":%d,"user_id":"u%d","sku":"sku-%04d","price":%d.25,"qty":%d,"ts":%d,"pad":"xxxxxxxx"}`,
		i, i%1000, i%5000, i%200, 1+i%9, 1767225600000+int64(i))
}

// BenchmarkMapping_Process is the stage alone, total = price * qty on
// batches of 1024 orders nobody validated, which the stage must parse (the
// records are released and rebuilt outside the timer).
func BenchmarkMapping_Process(b *testing.B) { benchMapping(b, false) }

// benchMapping runs the mapping stage alone, total = price * qty, on
// batches of 1024 ~100-byte orders, validated as a file source hands them
// or not.
func benchMapping(b *testing.B, validated bool) {
	plan, err := Load(writeFile(b, b.TempDir(), "p.yaml", `id: m
sources: [{name: in, type: generate, count: 1}]
services: {out: {type: discard}}
stages:
  - {id: m, type: mapping, set: {total: "record.payload.price * double(record.payload.qty)"}}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: m}, {from: m, to: s}]
`))
	if err != nil {
		b.Fatal(err)
	}
	m := plan.byID["m"].impl.(*mappingProc)
	const n = 1024
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = []byte(orderLine(i))
	}
	in := make([]*record.Record, n)
	out := make([]*record.Record, 0, n)
	bc := &batchCtx{stage: "m"}
	b.SetBytes(int64(n * len(payloads[0])))
	for b.Loop() {
		b.StopTimer()
		for i := range in {
			if in[i] != nil {
				in[i].Release() // as the sink does: the parser goes back to the pool
			}
			in[i] = record.New("", payloads[i])
			if validated {
				in[i].MarkValidJSON() // as the file source does
			}
		}
		b.StartTimer()
		out = m.process(context.Background(), bc, in, out[:0])
		if len(out) != n || len(bc.dl) > 0 {
			b.Fatalf("%d out, %d dead letters", len(out), len(bc.dl))
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	if !strings.Contains(string(out[0].Payload), `,"total":0.25}`) || !strings.HasSuffix(string(out[3].Payload), `,"total":13}`) {
		b.Fatalf("payloads %s, %s", out[0].Payload, out[3].Payload)
	}
}

// BenchmarkMapping_Pipeline is file -> mapping (total = price * qty) ->
// file on 200k orders.
func BenchmarkMapping_Pipeline(b *testing.B) {
	const n = 200_000
	dir := b.TempDir()
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString(orderLine(i))
		sb.WriteByte('\n')
	}
	writeFile(b, dir, "orders.jsonl", sb.String())
	path := writeFile(b, dir, "p.yaml", `id: m
sources: [{name: orders, type: file, path: orders.jsonl}]
services: {out: {type: file, path: out/orders.jsonl}}
stages:
  - {id: m, type: mapping, set: {total: "record.payload.price * double(record.payload.qty)"}}
  - {id: s, type: sink, service_name: out}
edges: [{from: orders, to: m}, {from: m, to: s}]
`)
	for b.Loop() {
		p, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewRunner(p, RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := r.Run(context.Background())
		if err != nil || sum.In != n || sum.Delivered != n || !sum.Balanced() {
			b.Fatal(sum, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

func TestContainsQuoted(t *testing.T) {
	t.Parallel()
	docs := []string{`{"total":1}`, `{"subtotal":1}`, `{"a":"xtotal"}`, `{"a":"total"}`, `total"`, `"total"`, `""`, `{"":1}`, `{"a":"b"}`, ``}
	for _, name := range []string{"total", "", "a"} {
		for _, doc := range docs {
			want := bytes.Contains([]byte(doc), []byte(`"`+name+`"`))
			if got := containsQuoted([]byte(doc), nameQuote(name)); got != want {
				t.Errorf("containsQuoted(%s, %q) = %v, want %v", doc, name, got, want)
			}
		}
	}
}

func TestAbsentTop(t *testing.T) {
	t.Parallel()
	q := nameQuote("total")
	tests := []struct {
		doc  string
		nq   []byte
		want bool
	}{
		{`{"id":1,"price":2.5}`, q, true},
		{`{"id":1,"total":2}`, q, false},
		{`{"id":1,"note":"total"}`, q, false}, // a value: unsure, setResult decides
		{`{"id":1,"o":{"total":1}}`, q, false},
		{`{"id":"a\"b"}`, q, false}, // an escape
		{`{"tot\u0061l":1}`, q, false},
		{` {"id":1}`, q, false},
		{`{"id":1} `, q, false},
		{`{ "id":1}`, q, false},
		{`{}`, q, false},
		{`[{"id":1}]`, q, false},
		{`{"id":1}`, nil, false},
		{`{"subtotal":1,"xtotal":"total"}`, q, false},
		{`{"subtotal":1,"totals":2,"a":"total!"}`, q, true},
		{`{"total":1}`, q, false},
	}
	for _, tt := range tests {
		if got := absentTop([]byte(tt.doc), tt.nq); got != tt.want {
			t.Errorf("absentTop(%s, %s) = %v, want %v", tt.doc, tt.nq, got, tt.want)
		}
	}
	for _, name := range []string{`a"b`, `a\b`, "a\tb"} {
		if nameQuote(name) != nil {
			t.Errorf("nameQuote(%q) = %s, want nil", name, nameQuote(name))
		}
	}
}

// TestMappingProc_SetOne_MatchesSetResult: the absentTop shortcut writes
// exactly what setResult writes for every document and path.
func TestMappingProc_SetOne_MatchesSetResult(t *testing.T) {
	t.Parallel()
	docs := []string{
		`{"id":1,"price":2.5}`, `{"id":1,"total":2}`, `{"id":1,"note":"total"}`, `{"id":"a\"b"}`,
		`{"tot\u0061l":1}`, ` {"id":1} `, `{ }`, `{}`, `{"total":{"x":1}}`, `[1]`, `"s"`, `{"a":{"b":1}}`,
	}
	m := &mappingProc{}
	for _, path := range []string{"total", "total.x", "a.b", "a.c", "x"} {
		p, err := jsonsplice.ParsePath(path)
		if err != nil {
			t.Fatal(err)
		}
		s := &mapSetter{path: p, nameQuote: nameQuote(p.Segments()[0])}
		for _, doc := range docs {
			got, gotErr := m.setOne(nil, []byte(doc), record.New("", []byte(doc)), false, s, []byte(`7.5`))
			want, wantErr := setResult(nil, []byte(doc), nil, p, []byte(`7.5`))
			if string(got) != string(want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("set %s in %s: setOne %s, %v; setResult %s, %v", path, doc, got, gotErr, want, wantErr)
			}
		}
	}
}

// TestMappingStage_Set_ComputedField: the arithmetic a mapping computes
// from a file source's records (validated, unparsed: the fast path's
// case) gives the interpreter's values and its dead-letter reasons.
func TestMappingStage_Set_ComputedField(t *testing.T) {
	t.Parallel()
	const in = `{"id":1,"price":2.5,"qty":3}
{"id":2,"price":0.1,"qty":3}
{"id":3,"price":2,"qty":3}
{"id":4,"qty":3}
{"id":5,"price":"2.5","qty":3}
{"id":6,"price":null,"qty":3}
{"id":7,"price":1e308,"qty":10}
{"id":8,"price":-0.0,"qty":1}
{"id":9,"price":1.5,"qty":2,"total":"old"}
{"id":10,"price":1.5,"qty":9223372036854775807}
`
	lines, reasons, _ := runMapping(t, in, `  - id: m
    type: mapping
    set:
      total: record.payload.price * double(record.payload.qty)
      twice: record.payload.qty * 2`)
	want := []string{
		`{"id":1,"price":2.5,"qty":3,"total":7.5,"twice":6}`,
		`{"id":2,"price":0.1,"qty":3,"total":0.30000000000000004,"twice":6}`,
		`{"id":8,"price":-0.0,"qty":1,"total":-0,"twice":2}`,
		`{"id":9,"price":1.5,"qty":2,"total":3,"twice":4}`,
	}
	wantReasons := []string{
		`mapping "m": set "total": no such overload: _*_(int, double)`,
		`mapping "m": set "total": no such key: price`,
		`mapping "m": set "total": no such overload: _*_(string, double)`,
		`mapping "m": set "total": no such overload: _*_(null_type, double)`,
		`mapping "m": set "total": double +Inf cannot be written as JSON`,
		`mapping "m": set "twice": integer overflow`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(reasons) != len(wantReasons) {
		t.Fatalf("dead letters %q, want %q", reasons, wantReasons)
	}
	for i, w := range wantReasons {
		if !strings.HasPrefix(reasons[i], w) {
			t.Errorf("dead letter %d: %q, want it to start with %q", i, reasons[i], w)
		}
	}
}
