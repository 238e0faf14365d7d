package connectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/valyala/fastjson"
)

func TestAppendKey(t *testing.T) {
	tests := []struct {
		json string
		want string
		ok   bool
	}{
		{`"abc"`, "abc", true},
		{`"a\"b\u00e9"`, `a"bé`, true},
		{`""`, "", true},
		{`"42"`, "42", true},
		{`42`, "42", true},
		{`-7`, "-7", true},
		{`-0`, "0", true},
		{`0`, "0", true},
		{`42.0`, "42", true},
		{`4.2e1`, "42", true},
		{`2.50`, "2.5", true},
		{`-0.0`, "0", true},
		{`1e21`, "1e+21", true},
		{`1e-7`, "1e-7", true},
		{`0.000001`, "0.000001", true},
		{`12345678901234567891`, "12345678901234567891", true},
		{`true`, "true", true},
		{`false`, "false", true},
		{`null`, "", false},
		{`{"a":1}`, "", false},
		{`[1]`, "", false},
	}
	for _, tt := range tests {
		v, err := fastjson.Parse(tt.json)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := connectors.AppendKey([]byte("x:"), v)
		if ok != tt.ok || string(got) != "x:"+tt.want {
			t.Errorf("AppendKey(%s) = %q, %v; want %q, %v", tt.json, got, ok, "x:"+tt.want, tt.ok)
		}
	}
	if got, ok := connectors.AppendKey(nil, nil); ok || got != nil {
		t.Errorf("AppendKey(nil value) = %q, %v", got, ok)
	}
}

// FuzzAppendKey checks that a value and its encoding/json round trip have
// the same key, so tables and records written by different programs agree.
func FuzzAppendKey(f *testing.F) {
	for _, s := range []string{`"a"`, `42`, `-0`, `2.50`, `1e21`, `1E-7`, `true`, `"\u00e9"`, `123456789012345678`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := fastjson.Parse(doc)
		if err != nil {
			return
		}
		key, ok := connectors.AppendKey(nil, v)
		if !ok {
			if tp := v.Type(); tp != fastjson.TypeNull && tp != fastjson.TypeObject && tp != fastjson.TypeArray {
				t.Fatalf("AppendKey(%s): a %s is not a key", doc, tp)
			}
			return
		}
		var x any
		if json.Unmarshal([]byte(doc), &x) != nil {
			return // fastjson is more lenient (e.g. about control characters)
		}
		switch x := x.(type) {
		case string:
			if !utf8.ValidString(x) || !utf8.Valid(key) {
				return // encoding/json replaces invalid UTF-8
			}
		case float64:
			raw := strings.TrimSpace(doc)
			if _, err := strconv.ParseInt(raw, 10, 64); !strings.ContainsAny(raw, ".eE") && (err != nil || math.Abs(x) > 1<<53) {
				return // integers are exact, their float64 value is not
			}
		}
		b, err := json.Marshal(x)
		if err != nil {
			return
		}
		again, _ := connectors.AppendKey(nil, fastjson.MustParseBytes(b))
		if string(again) != string(key) {
			t.Fatalf("AppendKey(%s) = %q but AppendKey(%s) = %q", doc, key, b, again)
		}
	})
}

func TestBuildLookup_Errors(t *testing.T) {
	spec, ok := connectors.Lookup(connectors.KindLookup, "static")
	if !ok {
		t.Fatal("static lookup not registered")
	}
	_, err := connectors.BuildLookup(spec, &connectors.StaticLookupConfig{Path: "nope.jsonl"}, connectors.Env{Name: "users", BaseDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `lookup service "users" (static): static lookup: open `) {
		t.Errorf("err = %v", err)
	}

	notLookup := connectors.Spec{Type: "odd", Kind: connectors.KindLookup, Build: func(any, connectors.Env) (any, error) { return 42, nil }}
	if _, err := connectors.BuildLookup(notLookup, nil, connectors.Env{Name: "x"}); err == nil || !strings.Contains(err.Error(), "built a int, not a LookupService") {
		t.Errorf("err = %v", err)
	}
	failing := connectors.Spec{Type: "odd", Kind: connectors.KindLookup, Build: func(any, connectors.Env) (any, error) { return nil, errors.New("boom") }}
	if _, err := connectors.BuildLookup(failing, nil, connectors.Env{Name: "x"}); err == nil || err.Error() != `lookup service "x" (odd): boom` {
		t.Errorf("err = %v", err)
	}
}

// A lookup service finds rows by key, a batch of keys at a time.
func Example_lookup() {
	spec, _ := connectors.Lookup(connectors.KindLookup, "static")
	cfg := spec.NewConfig().(*connectors.StaticLookupConfig)
	cfg.Rows = []map[string]any{
		{"id": "c1", "name": "Ada", "country": "FR"},
		{"id": 2, "name": "Bob", "country": "DE"},
	}
	svc, err := connectors.BuildLookup(spec, cfg, connectors.Env{Name: "customers"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	keys := [][]string{{"c1"}, {"c3"}, {"2"}} // the string "2" finds the number 2
	results := make([][]byte, len(keys))
	if err := svc.LookupBatch(context.Background(), []string{"id"}, keys, results); err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range results {
		if r == nil {
			fmt.Printf("%s: not found\n", keys[i][0])
			continue
		}
		fmt.Printf("%s: %s\n", keys[i][0], r)
	}
	// Output:
	// c1: {"country":"FR","id":"c1","name":"Ada"}
	// c3: not found
	// 2: {"country":"DE","id":2,"name":"Bob"}
}

// AppendKeyRaw gives the same key as AppendKey on the parsed value, for
// every scalar shape.
func TestAppendKeyRaw_SameAsAppendKey(t *testing.T) {
	for _, raw := range []string{`"c1"`, `"a\"b"`, `"\u00e9t\u00e9"`, `42`, `-0`, `4.20`, `1e3`, `1E400`, `-12.5e-3`, `true`, `false`,
		`null`, `{"a":1}`, `[1]`, `""`} {
		v, err := fastjson.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		want, wok := connectors.AppendKey(nil, v)
		got, gok := connectors.AppendKeyRaw(nil, []byte(raw))
		if string(got) != string(want) || gok != wok {
			t.Errorf("AppendKeyRaw(%s) = %q %v, AppendKey = %q %v", raw, got, gok, want, wok)
		}
	}
}
