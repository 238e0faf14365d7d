package engine

import (
	"errors"
	"strings"
	"testing"
)

const envPipeline = `id: ${ID:p}
settings:
  batch_size: ${BATCH}
sources:
  - name: in
    type: generate
    count: ${COUNT:10}
services:
  out: {type: discard}
stages:
  - id: keep
    type: filter
    condition: record.payload.tag == "$${literal}"
  - id: sink
    type: sink
    service_name: out
edges:
  - {from: source, to: keep}
  - {from: keep, to: sink}
`

func lookup(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func issuesOfErr(t *testing.T, err error) Issues {
	t.Helper()
	var is Issues
	if !errors.As(err, &is) {
		t.Fatalf("want Issues, got %v", err)
	}
	return is
}

func TestParseWith_Env_Expanded(t *testing.T) {
	p, err := ParseWith("p.yaml", []byte(envPipeline), ParseOptions{Env: lookup("BATCH", "7", "COUNT", "")})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "p" || p.Settings.BatchSize != 7 {
		t.Errorf("id %q batch_size %d, want p and 7", p.ID, p.Settings.BatchSize)
	}
	if got := p.Stages[0].Condition.Expr; got != `record.payload.tag == "${literal}"` {
		t.Errorf("escaped reference: condition %q", got)
	}
	if _, err := p.Compile(); err != nil {
		t.Fatalf("compile: %v", err)
	}
}

func TestParseWith_Env_MissingIsAnIssueAtTheReference(t *testing.T) {
	_, err := ParseWith("p.yaml", []byte(envPipeline), ParseOptions{Env: lookup()})
	is := issuesOfErr(t, err)
	// One issue: the unexpanded value is not also reported as "expected
	// an integer".
	if len(is) != 1 || is[0].Pos.String() != "p.yaml:3:15" || !strings.Contains(is[0].Msg, "BATCH is not set") {
		t.Fatalf("issues:\n%v", is)
	}
}

func TestParseWith_Env_InListsAndNestedValues(t *testing.T) {
	src := strings.Replace(validPipeline, "  out: {type: discard}", "  out:\n    type: file\n    path: out/${DAY}.jsonl\n    tags:\n      - a\n      - ${TAG}", 1)
	p, err := ParseWith("p.yaml", []byte(src), ParseOptions{Env: lookup("DAY", "2024-01-02", "TAG", "b")})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Path string   `yaml:"path"`
		Tags []string `yaml:"tags"`
	}
	if err := p.Services["out"].Config.node.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Path != "out/2024-01-02.jsonl" || len(got.Tags) != 2 || got.Tags[1] != "b" {
		t.Errorf("service config %+v", got)
	}
	_, err = ParseWith("p.yaml", []byte(src), ParseOptions{Env: lookup("DAY", "x")})
	if is := issuesOfErr(t, err); len(is) != 1 || is[0].Pos.String() != "p.yaml:12:9" {
		t.Errorf("issues:\n%v", is)
	}
}

func TestParse_ReadsTheProcessEnvironment(t *testing.T) {
	t.Setenv("CONVEYOR_TEST_BATCH", "3")
	p, err := Parse("p.yaml", []byte(strings.Replace(envPipeline, "${BATCH}", "${CONVEYOR_TEST_BATCH}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings.BatchSize != 3 {
		t.Errorf("batch_size %d", p.Settings.BatchSize)
	}
}

func TestParseWith_Sets(t *testing.T) {
	p, err := ParseWith("p.yaml", []byte(validPipeline), ParseOptions{Sets: []string{
		"settings.batch_size=10",
		"sources.in.count=5",
		"stages.keep.condition=record.key == \"k\"",
		"settings.dead_letter=out",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings.BatchSize != 10 || p.Stages[0].Condition.Expr != `record.key == "k"` || p.Settings.DeadLetter != "out" {
		t.Errorf("settings %+v, condition %q", p.Settings, p.Stages[0].Condition.Expr)
	}
	if _, err := p.Compile(); err != nil {
		t.Fatal(err)
	}
}

func TestParseWith_Sets_ProblemsAtTheOverride(t *testing.T) {
	for _, tc := range []struct {
		set, pos, msg string
		compile       bool
	}{
		{set: "settings.batchsize=10", pos: "--set[2]:1:10", msg: `unknown key "batchsize" (did you mean "batch_size"?)`},
		{set: "settings.batch_size=ten", pos: "--set[2]:1:21", msg: `expected an integer, got "ten"`},
		{set: "settings.batch_size='10'", pos: "--set[2]:1:21", msg: `expected an integer`},
		{set: "sources.nope.count=1", pos: "--set[2]:1:9", msg: `sources has no element named "nope"`},
		{set: "nonsense", pos: "--set[2]:1:1", msg: "expected path=value"},
		{set: "sources.in.cuont=1", pos: "--set[2]:1:12", msg: `unknown key "cuont"`, compile: true},
		{set: "stages.keep.condition=record.nope(", pos: "--set[2]:1:", msg: "", compile: true},
	} {
		p, err := ParseWith("p.yaml", []byte(validPipeline), ParseOptions{Sets: []string{"id=q", tc.set}})
		if tc.compile {
			if err != nil {
				t.Errorf("--set %s: parse: %v", tc.set, err)
				continue
			}
			_, err = p.Compile()
		}
		is := issuesOfErr(t, err)
		if len(is) != 1 || !strings.HasPrefix(is[0].Pos.String(), tc.pos) || !strings.Contains(is[0].Msg, tc.msg) {
			t.Errorf("--set %s: %d issues\n%v\nwant one at %s: %s", tc.set, len(is), is, tc.pos, tc.msg)
		}
	}
}

func TestParseWith_Sets_ReplaceAMissingVariable(t *testing.T) {
	p, err := ParseWith("p.yaml", []byte(envPipeline), ParseOptions{Env: lookup(), Sets: []string{"settings.batch_size=4", "id=${NOT_EXPANDED}"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Settings.BatchSize != 4 || p.ID != "${NOT_EXPANDED}" {
		t.Errorf("batch_size %d id %q", p.Settings.BatchSize, p.ID)
	}
}
