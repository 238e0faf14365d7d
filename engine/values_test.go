package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// goPipeline is a pipeline built in Go: one source, one sink.
func goPipeline(src Source, out Service) *Pipeline {
	return &Pipeline{
		ID:       "go",
		Sources:  []Source{src},
		Services: map[string]Service{"out": out},
		Stages:   []Stage{{ID: "write", Type: StageSink, ServiceName: "out"}},
		Edges:    []Edge{{From: "source", To: "write"}},
	}
}

func TestConfigOf_Compile_Cases(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	for _, c := range []struct {
		name string
		typ  string // the source's type
		src  Config
		out  Service
		want string // "": compiles
	}{
		{"file to discard", "file", ConfigOf(map[string]any{"path": in}), Service{Type: "discard"}, ""},
		{"durations and ints", "generate", ConfigOf(map[string]any{"count": 3, "step": time.Millisecond}), Service{Type: "file", Config: ConfigOf(map[string]any{"path": out})}, ""},
		{"unknown key", "file", ConfigOf(map[string]any{"pth": in}), Service{Type: "discard"},
			`pipeline: source "in": unknown key "pth" (did you mean "path"?)`},
		{"zero config has no keys", "file", Config{}, Service{Type: "discard"},
			`pipeline: source "in": missing required key "path"`},
		{"wrong type", "file", ConfigOf(map[string]any{"path": []string{"a"}}), Service{Type: "discard"},
			`pipeline: source "in": expected a string, got a list`},
		{"no YAML form", "file", ConfigOf(map[string]any{"path": func() {}}), Service{Type: "discard"},
			`pipeline: source "in": config: cannot be YAML: `},
		{"service", "file", ConfigOf(map[string]any{"path": in}), Service{Type: "wasm"},
			`pipeline: service "out": missing required key "path"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := goPipeline(Source{Name: "in", Type: c.typ, Config: c.src}, c.out).Compile()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// ConfigOf copies the keys: changing the map afterwards changes nothing.
func TestConfigOf_CopiesKeys(t *testing.T) {
	keys := map[string]any{"count": 2}
	cfg := ConfigOf(keys)
	keys["count"] = "many"
	if _, err := goPipeline(Source{Name: "in", Type: "generate", Config: cfg}, Service{Type: "discard"}).Compile(); err != nil {
		t.Fatal(err)
	}
}

func TestValue_JSON_Cases(t *testing.T) {
	for _, c := range []struct {
		name    string
		v       Value
		want    string
		wantErr string
	}{
		{"string", ValueOf("basic"), `"basic"`, ""},
		{"nil is null", ValueOf(nil), `null`, ""},
		{"map", ValueOf(map[string]any{"tier": "basic", "n": 2}), `{"n":2,"tier":"basic"}`, ""},
		{"list", ValueOf([]any{1, "a", true}), `[1,"a",true]`, ""},
		{"no YAML form", ValueOf(make(chan int)), "", "cannot be YAML"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.v.isZero() {
				t.Fatal("ValueOf is never the zero Value")
			}
			got, err := c.v.json()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || string(got) != c.want {
				t.Fatalf("json() = %s, %v; want %s", got, err, c.want)
			}
		})
	}
	if !(Value{}).isZero() {
		t.Fatal("the zero Value is absent")
	}
}

// A Go-built lookup stage gets its default from ValueOf and its service's
// rows from ConfigOf.
func TestValueOf_LookupDefault(t *testing.T) {
	p := goPipeline(Source{Name: "in", Type: "generate"}, Service{Type: "discard"})
	p.Services["customers"] = Service{Type: "static", Config: ConfigOf(map[string]any{
		"rows": []map[string]any{{"id": "c1", "tier": "gold"}},
	})}
	p.Stages = append(p.Stages, Stage{ID: "enrich", Type: StageLookup, ServiceName: "customers", Lookup: &LookupConfig{
		KeyMappings:  []LookupKeyMapping{{RecordField: "customer_id", LookupField: "id"}},
		ResultField:  "customer",
		MissStrategy: LookupMissDefault,
		Default:      ValueOf(map[string]any{"tier": "none"}),
	}})
	p.Edges = []Edge{{From: "source", To: "enrich"}, {From: "enrich", To: "write"}}
	plan, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"c1": `{"customer_id":"c1","customer":{"id":"c1","tier":"gold"}}`,
		"c9": `{"customer_id":"c9","customer":{"tier":"none"}}`,
	} {
		res, err := NewRoutingEngine().Lookup(context.Background(), plan, "enrich", record.New("", []byte(`{"customer_id":"`+key+`"}`)))
		if err != nil || res.Record == nil || string(res.Record.Payload) != want {
			t.Fatalf("%s: %+v, %v; want %s", key, res, err, want)
		}
	}

	p.Stages[1].Lookup.Default = ValueOf(func() {})
	if _, err := p.Compile(); err == nil || !strings.Contains(err.Error(), `pipeline: stage "enrich": default: cannot be YAML`) {
		t.Fatalf("err = %v", err)
	}
}
