package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/examples/exampletest"
)

// lockedBuffer is a stderr that a test may read while the CLI writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writePipeline(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor polls cond until it holds or the test's deadline nears.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestCLI_Run_HTTP(t *testing.T) {
	t.Parallel()
	p := writePipeline(t, `id: served
sources: [{name: gen, type: generate, rate: 2000}]
services: {out: {type: file, path: out.jsonl}}
stages:
  - {id: f, type: filter, condition: "record.payload.active == true"}
  - {id: s, type: sink, service_name: out}
edges: [{from: gen, to: f}, {from: f, to: s}]
`)
	errb := &lockedBuffer{}
	app := newApp(strings.NewReader(""), io.Discard, errb)
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	app.Metadata["env"].(*appEnv).signals = func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, c := context.WithCancel(ctx)
		context.AfterFunc(stop, c) // a SIGTERM
		return ctx, c
	}
	done := make(chan error, 1)
	go func() {
		cliMu.Lock()
		defer cliMu.Unlock()
		done <- app.Run([]string{"conveyor-wasm", "run", "--http", "127.0.0.1:0", "--pprof", "--progress", "0", p})
	}()
	url := regexp.MustCompile(`url=(http://\S+/)`)
	waitFor(t, "the server's address on stderr", func() bool { return url.MatchString(errb.String()) })
	base := url.FindStringSubmatch(errb.String())[1]
	inTotal := regexp.MustCompile(`(?m)^conveyor_records_in_total ([1-9]\d*)`)
	waitFor(t, "records counted on /metrics", func() bool {
		_, body := httpGet(t, base+"metrics")
		return inTotal.MatchString(body)
	})
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"readyz", 200, "ready"}, {"healthz", 200, "ok"}, {"", 200, "<svg id=\"dag\""},
		{"api/graph", 200, `"id":"served"`}, {"api/stats", 200, `"state":"running"`}, {"debug/pprof/", 200, "goroutine"},
	} {
		if code, body := httpGet(t, base+tt.path); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("/%s: %d, want %d with %q:\n%.200s", tt.path, code, tt.code, tt.want, body)
		}
	}
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("run: %v (want the interrupted exit)\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "summary: records in ") {
		t.Fatalf("no summary:\n%s", errb.String())
	}
	if _, err := http.Get(base + "healthz"); err == nil {
		t.Error("the server still answers after the run")
	}
}

func TestCLI_Run_PprofNeedsHTTP(t *testing.T) {
	t.Parallel()
	p := writePipeline(t, `id: x
sources: [{name: gen, type: generate, count: 1}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: gen, to: s}]
`)
	if code, _, errs := run(t, "", "run", "--pprof", p); code != 2 || !strings.Contains(errs, "--pprof needs --http") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, errs := run(t, "", "run", "--http", "127.0.0.1:-1", p); code != 1 || !strings.Contains(errs, "--http: ") {
		t.Fatalf("bad address: exit %d: %s", code, errs)
	}
}

// A generate source's event times run ahead of the wall clock (1ms apart
// at 20k records/s): progress says "ahead", never a negative lag.
func TestCLI_Run_ProgressJSON(t *testing.T) {
	t.Parallel()
	p := writePipeline(t, `id: j
sources: [{name: gen, type: generate, rate: 20000, count: 6000, watermark: {}}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: gen, to: s}]
`)
	code, _, errs := run(t, "", "--log-format", "json", "run", "--progress", "50ms", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var progress, summary int
	for line := range strings.Lines(errs) {
		var rec struct {
			Msg     string `json:"msg"`
			In      int64  `json:"in"`
			Sources []struct {
				State string  `json:"state"`
				Lag   float64 `json:"lag_seconds"`
				Ahead float64 `json:"ahead_seconds"`
			} `json:"sources"`
			Sinks []struct {
				Name    string `json:"name"`
				Written int64  `json:"written"`
			} `json:"sinks"`
			Edges []struct {
				From, To string
				Records  int64
			} `json:"edges"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		switch rec.Msg {
		case "progress":
			progress++
			if len(rec.Sources) == 1 && (rec.Sources[0].Lag < 0 || rec.Sources[0].Ahead < 0) {
				t.Errorf("negative lag: %s", line)
			}
			// A finished source has no watermark left to compare with the
			// clock (neither lag nor ahead): a progress line can come
			// between the generator's end and the run's.
			if len(rec.Sources) == 1 && rec.Sources[0].State != "finished" && rec.In > 1000 && rec.Sources[0].Ahead == 0 {
				t.Errorf("a generator at 20k/s with 1ms steps runs ahead of the clock: %s", line)
			}
		case "summary":
			summary++
			if rec.In != 6000 || len(rec.Sinks) != 1 || rec.Sinks[0].Written != 6000 || len(rec.Edges) != 1 || rec.Edges[0].Records != 6000 {
				t.Errorf("summary: %s", line)
			}
		}
	}
	if progress == 0 || summary != 1 {
		t.Fatalf("%d progress records, %d summaries:\n%s", progress, summary, errs)
	}
}

func TestCLI_Run_Quiet(t *testing.T) {
	t.Parallel()
	p := writePipeline(t, `id: q
sources: [{name: gen, type: generate, count: 100}]
services: {out: {type: discard}}
stages: [{id: s, type: sink, service_name: out}]
edges: [{from: gen, to: s}]
`)
	if code, _, errs := run(t, "", "run", "--quiet", "--progress", "1ms", p); code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// The summary's written counts reconcile with the files: a record copied
// to two sinks is one record out and two lines written.
func TestCLI_Run_SummaryReconcilesWithTheFiles(t *testing.T) {
	t.Parallel()
	dir := exampletest.Copy(t, filepath.Join("..", "..", "examples", "user-analytics"))
	code, _, errs := run(t, "", "run", "--progress", "0", filepath.Join(dir, "pipeline.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	archive := len(lines(t, filepath.Join(dir, "out/archive.jsonl")))
	events := len(lines(t, filepath.Join(dir, "out/user-events.jsonl")))
	dead := len(lines(t, filepath.Join(dir, "out/dead-letters.jsonl")))
	want := fmt.Sprintf("summary: written archive %d, user-events %d, dead letters (dead-letters) %d\n", archive, events, dead)
	if !strings.Contains(errs, want) {
		t.Fatalf("want %q in:\n%s", want, errs)
	}
	if !strings.Contains(errs, "summary: edges users -> filter-active ") {
		t.Fatalf("no edge counts:\n%s", errs)
	}
}

func TestCLI_Graph_Rendered(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "user-analytics", "pipeline.yaml")
	if _, err := exec.LookPath("dot"); err == nil {
		code, out, errs := run(t, "", "graph", "--format", "svg", good)
		if code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(out, "dead letters") {
			t.Fatalf("svg: exit %d %s %.300s", code, errs, out)
		}
		png := filepath.Join(t.TempDir(), "g.png")
		if code, _, errs := run(t, "", "graph", "--format", "png", "-o", png, good); code != 0 {
			t.Fatalf("png: exit %d %s", code, errs)
		}
		if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("png: %v %.8q", err, b)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("no Graphviz dot on PATH (apt-get install -y graphviz)")
	}
	t.Setenv("PATH", t.TempDir()) // no dot
	code, _, errs := run(t, "", "graph", "--format", "svg", good)
	if code != 1 || !strings.Contains(errs, "needs Graphviz's dot on PATH") {
		t.Fatalf("without dot: exit %d: %s", code, errs)
	}
}
