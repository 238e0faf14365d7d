package connectors_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
)

func writeTable(t testing.TB, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "table.jsonl"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lookup looks keys up one field combination at a time and returns the
// results as strings ("" for a miss).
func lookup(t *testing.T, s connectors.LookupService, fields []string, keys ...[]string) []string {
	t.Helper()
	res := make([][]byte, len(keys))
	if err := s.LookupBatch(context.Background(), fields, keys, res); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = string(r)
	}
	return out
}

const table = `{"id":"c1","name":"Ada","addr":{"country":"FR","zip":75001}}
{"id":2,"name":"Bob","addr":{"country":"DE","zip":10115}}

   {"id":"c3","name":"Cy","addr":{"country":"FR","zip":69001}}  
{"id":"c1","name":"Ada again"}
{"name":"no id"}
`

func TestStaticLookup_LookupBatch_FromFile(t *testing.T) {
	dir := writeTable(t, table)
	s, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Path: "table.jsonl"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 5 || s.KeyFields() != nil {
		t.Fatalf("Len %d KeyFields %v", s.Len(), s.KeyFields())
	}
	tests := []struct {
		name   string
		fields []string
		keys   [][]string
		want   []string
	}{
		{"one field, last duplicate wins", []string{"id"}, [][]string{{"c1"}, {"2"}, {"c3"}, {"c4"}, {""}},
			[]string{`{"id":"c1","name":"Ada again"}`, `{"id":2,"name":"Bob","addr":{"country":"DE","zip":10115}}`,
				`{"id":"c3","name":"Cy","addr":{"country":"FR","zip":69001}}`, "", ""}},
		{"nested field", []string{"addr.zip"}, [][]string{{"75001"}, {"10115"}, {"1"}},
			[]string{`{"id":"c1","name":"Ada","addr":{"country":"FR","zip":75001}}`, `{"id":2,"name":"Bob","addr":{"country":"DE","zip":10115}}`, ""}},
		{"composite", []string{"addr.country", "id"}, [][]string{{"FR", "c3"}, {"DE", "2"}, {"FR", "2"}, {"FR", "c1"}},
			[]string{`{"id":"c3","name":"Cy","addr":{"country":"FR","zip":69001}}`, `{"id":2,"name":"Bob","addr":{"country":"DE","zip":10115}}`,
				"", `{"id":"c1","name":"Ada","addr":{"country":"FR","zip":75001}}`}},
		{"composite parts do not run together", []string{"addr.country", "id"}, [][]string{{"FRc", "3"}, {"F", "Rc3"}},
			[]string{"", ""}},
		{"field no row has", []string{"email"}, [][]string{{"a@b"}}, []string{""}},
		{"empty batch", []string{"id"}, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lookup(t, s, tt.fields, tt.keys...)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") || len(got) != len(tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStaticLookup_LookupBatch_InlineRows(t *testing.T) {
	cfg := &connectors.StaticLookupConfig{Rows: []map[string]any{
		{"sku": "A-1", "price": 9.5, "tags": []any{"x"}},
		{"sku": 7, "price": 1, "meta": map[string]any{"color": "red"}},
		{"sku": true},
	}}
	s, err := connectors.NewStaticLookup(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	got := lookup(t, s, []string{"sku"}, []string{"A-1"}, []string{"7"}, []string{"7.0"}, []string{"true"}, []string{"9.5"})
	want := []string{`{"price":9.5,"sku":"A-1","tags":["x"]}`, `{"meta":{"color":"red"},"price":1,"sku":7}`, "", `{"sku":true}`, ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := lookup(t, s, []string{"price"}, []string{"9.5"}, []string{"1"}); got[0] == "" || got[1] == "" {
		t.Errorf("lookup by price: %q", got)
	}
}

func TestStaticLookup_LookupBatch_Index(t *testing.T) {
	s, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Path: "table.jsonl", Index: []string{"id", "addr.zip"}}, writeTable(t, table))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.KeyFields(); strings.Join(got, ",") != "id,addr.zip" {
		t.Errorf("KeyFields = %q", got)
	}
	if got := lookup(t, s, []string{"addr.zip", "id"}, []string{"10115", "2"}); got[0] == "" {
		t.Error("indexed fields combined: not found")
	}
	err = s.LookupBatch(context.Background(), []string{"name"}, [][]string{{"Ada"}}, make([][]byte, 1))
	if err == nil || err.Error() != `static lookup: field "name" is not indexed (index: id, addr.zip)` {
		t.Errorf("err = %v", err)
	}
}

func TestStaticLookup_LookupBatch_Errors(t *testing.T) {
	s, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Rows: []map[string]any{{"id": 1}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fields  []string
		keys    [][]string
		results int
		want    string
	}{
		{"results length", []string{"id"}, [][]string{{"1"}}, 2, "static lookup: 2 results for 1 keys"},
		{"key length", []string{"id"}, [][]string{{"1", "2"}}, 1, "static lookup: key 0 has 2 values for 1 fields"},
		{"no fields", nil, [][]string{{}}, 1, "static lookup: no key fields"},
		{"bad path", []string{"a..b"}, [][]string{{"1"}}, 1, `static lookup: bad field path "a..b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.LookupBatch(context.Background(), tt.fields, tt.keys, make([][]byte, tt.results))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewStaticLookup_Errors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     connectors.StaticLookupConfig
		content string
		want    string
	}{
		{"neither", connectors.StaticLookupConfig{}, "", "static lookup: set exactly one of path and rows"},
		{"both", connectors.StaticLookupConfig{Path: "table.jsonl", Rows: []map[string]any{}}, "", "static lookup: set exactly one of path and rows"},
		{"missing file", connectors.StaticLookupConfig{Path: "nope.jsonl"}, "", "static lookup: open "},
		{"malformed line", connectors.StaticLookupConfig{Path: "table.jsonl"}, "{\"id\":1}\n\n{\"id\":\n", "table.jsonl:3: malformed JSON: "},
		{"not an object", connectors.StaticLookupConfig{Path: "table.jsonl"}, "{\"id\":1}\n[1,2]\n", "table.jsonl:2: a row must be a JSON object, got array"},
		{"row not JSON", connectors.StaticLookupConfig{Rows: []map[string]any{{"f": func() {}}}}, "", "static lookup: rows[0]: json: unsupported type: func()"},
		{"bad index", connectors.StaticLookupConfig{Rows: []map[string]any{}, Index: []string{"a."}}, "", `static lookup: index: bad field path "a."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTable(t, tt.content)
			_, err := connectors.NewStaticLookup(&tt.cfg, dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			spec, _ := connectors.Lookup(connectors.KindLookup, "static")
			if tt.content == "" && !strings.Contains(tt.want, "open") {
				// Problems in the config itself show when a pipeline is validated.
				if err := spec.Check(&tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Check: err = %v, want it to contain %q", err, tt.want)
				}
			}
		})
	}
}

func TestStaticLookup_LookupBatch_Concurrent(t *testing.T) {
	rows := make([]map[string]any, 100)
	for i := range rows {
		rows[i] = map[string]any{"id": i, "k": fmt.Sprintf("k%d", i%10)}
	}
	s, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Rows: rows}, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			fields := [][]string{{"id"}, {"k"}, {"id", "k"}}[g%3]
			key := []string{"42", "k2"}[:len(fields)]
			if len(fields) == 1 && fields[0] == "k" {
				key = []string{"k2"}
			}
			res := make([][]byte, 1)
			for range 200 {
				if err := s.LookupBatch(context.Background(), fields, [][]string{key}, res); err != nil {
					errs <- err
					return
				}
				if res[0] == nil {
					errs <- fmt.Errorf("%v %v: not found", fields, key)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkStaticLookup_LookupBatch(b *testing.B) {
	rows := make([]map[string]any, 10_000)
	for i := range rows {
		rows[i] = map[string]any{"id": fmt.Sprintf("u%d", i), "name": "x"}
	}
	s, err := connectors.NewStaticLookup(&connectors.StaticLookupConfig{Rows: rows, Index: []string{"id"}}, "")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]string, 1024)
	for i := range keys {
		keys[i] = []string{fmt.Sprintf("u%d", i*7%12_000)}
	}
	res := make([][]byte, len(keys))
	fields := []string{"id"}
	for b.Loop() {
		if err := s.LookupBatch(context.Background(), fields, keys, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(keys)*b.N)/b.Elapsed().Seconds(), "keys/s")
}
