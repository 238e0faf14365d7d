package engine

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

func TestTransform_Splitter_AcksEveryOutput(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../examples/plugins/splitter")
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", `{"order":"o1","items":[{"n":1},{"n":2},{"n":3}]}
{"order":"o2","items":[]}
{"order":"o3"}
`)
	sum, dl, err := runFile(t, dir, `id: split
sources: [{name: in, type: file, path: in.jsonl, key_field: order}]
services:
  split: {type: wasm, path: `+wasm+`, config: {field: items}}
  out: {type: file, path: out.jsonl, format: envelope}
stages:
  - {id: split, type: transform, service_name: split}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: split}, {from: split, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	out := readEnvelopes(t, filepath.Join(dir, "out.jsonl"))
	if len(out) != 3 || sum.In != 3 || sum.Delivered != 1 || sum.Dropped != 1 || sum.DeadLettered != 1 || !sum.Balanced() {
		t.Fatalf("summary %s, %d written", sum, len(out))
	}
	for i, e := range out {
		if e.Key != "o1-"+string(rune('0'+i)) || e.Metadata["split.index"] != string(rune('0'+i)) || e.Metadata["split.count"] != "3" {
			t.Fatalf("output %d: %+v", i, e)
		}
	}
	if !strings.Contains(dl, `plugin \"split\"`) || !strings.Contains(dl, `"stage":"split"`) || !strings.Contains(dl, "o3") {
		t.Fatalf("dead letter: %s", dl)
	}
}

func TestTransform_Trap_FailsOnlyItsBatch(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/trap")
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "a\npanic\nb\nc\n")
	sum, dl, err := runFile(t, dir, `id: trap
settings: {batch_size: 2}
sources: [{name: in, type: file, path: in.txt, codec: lines}]
services:
  trap: {type: wasm, path: `+wasm+`, batch_timeout: 5s}
  out: {type: file, path: out.txt}
stages:
  - {id: t, type: transform, service_name: trap}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.txt"))
	if strings.Join(lines, ",") != "b,c" || sum.Delivered != 2 || sum.DeadLettered != 2 || !sum.Balanced() {
		t.Fatalf("summary %s, out %v", sum, lines)
	}
	if strings.Count(dl, "\n") != 2 || !strings.Contains(dl, "trap") || !strings.Contains(dl, `"stage":"t"`) {
		t.Fatalf("dead letters should name the plugin and the trap:\n%s", dl)
	}
}

// hostilePipeline runs lines of text through the guest in batches of two.
func hostilePipeline(wasm, extra string) string {
	return `id: hostile
settings: {batch_size: 2}
sources: [{name: in, type: file, path: in.txt, codec: lines}]
services:
  guest: {type: wasm, path: ` + wasm + `` + extra + `}
  out: {type: file, path: out.txt}
stages:
  - {id: t, type: transform, service_name: guest}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`
}

// TestTransform_HostileGuests: a guest that loops, eats memory or returns
// garbage fails only the batch that triggered it; the pipeline keeps
// running, that batch is dead-lettered with the plugin and the fault named,
// and the next batches are delivered.
func TestTransform_HostileGuests(t *testing.T) {
	cases := []struct {
		guest, trigger, extra, reason string
	}{
		{"loop", "loop", ", batch_timeout: 500ms", "timeout"},
		{"membomb", "bomb", ", max_memory_pages: 512", "memory"},
		{"garbage", "garbage", "", "output"},
		{"garbage", "outside", "", "output"},
	}
	for _, c := range cases {
		t.Run(c.guest+"/"+c.trigger, func(t *testing.T) {
			wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/"+c.guest)
			dir := t.TempDir()
			writeFile(t, dir, "in.txt", "a\n"+c.trigger+"\nb\nc\n")
			sum, dl, err := runFile(t, dir, hostilePipeline(wasm, c.extra))
			if err != nil {
				t.Fatal(err)
			}
			lines := readLines(t, filepath.Join(dir, "out.txt"))
			if strings.Join(lines, ",") != "b,c" || sum.DeadLettered != 2 || !sum.Balanced() {
				t.Fatalf("summary %s, out %v, dead letters:\n%s", sum, lines, dl)
			}
			if !strings.Contains(dl, `plugin guest`) && !strings.Contains(dl, `plugin \"guest\"`) {
				t.Fatalf("dead letters do not name the plugin:\n%s", dl)
			}
			if !strings.Contains(strings.ToLower(dl), c.reason) {
				t.Fatalf("dead letters do not name the fault %q:\n%s", c.reason, dl)
			}
		})
	}
}

func TestTransform_RecordErrorsAndDrops(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/recorderror")
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "a\nbad\ndrop\ntwice\nskip\nz\n")
	sum, dl, err := runFile(t, dir, hostilePipeline(wasm, ""))
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(dir, "out.txt"))
	// "twice" is emitted twice (and counts once, as delivered).
	if len(lines) != 4 || sum.In != 6 || sum.Delivered != 3 || sum.DeadLettered != 1 || sum.Dropped != 2 || !sum.Balanced() {
		t.Fatalf("summary %s, out %v", sum, lines)
	}
	if strings.Count(dl, "\n") != 1 || !strings.Contains(dl, `"payload":"bad"`) {
		t.Fatalf("only the bad record is dead-lettered:\n%s", dl)
	}
}

func TestTransform_RefusedModules(t *testing.T) {
	for _, c := range []struct{ guest, want string }{
		{"wrongversion", "2.0"},
		{"forbiddenimport", "sock_accept"},
	} {
		t.Run(c.guest, func(t *testing.T) {
			wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/"+c.guest)
			dir := t.TempDir()
			writeFile(t, dir, "in.txt", "a\n")
			p, err := Load(writeFile(t, dir, "p.yaml", hostilePipeline(wasm, "")))
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewRunner(p, RunOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"guest"`) {
				t.Fatalf("want a load error naming the service and %q, got %v", c.want, err)
			}
		})
	}
}

func TestTransform_GuestStdoutGoesToTheLog(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/stdout")
	dir := t.TempDir()
	writeFile(t, dir, "in.txt", "a\nb\nc\n")
	p, err := Load(writeFile(t, dir, "p.yaml", hostilePipeline(wasm, "")))
	if err != nil {
		t.Fatal(err)
	}
	var log plugintest.LogBuffer
	r, err := NewRunner(p, RunOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Delivered != 3 || !strings.Contains(log.String(), "plugin=guest") {
		t.Fatalf("summary %s, log:\n%s", sum, log.String())
	}
}

// TestTransform_ParallelKeepsOrder: batches run on several instances at
// once, yet come out in input order, and a failing batch in the middle is
// dead-lettered without disturbing the others.
func TestTransform_ParallelKeepsOrder(t *testing.T) {
	wasm := plugintest.BuildGo(t, "../plugins/testdata/guests/trap")
	dir := t.TempDir()
	var in, want strings.Builder
	for i := 0; i < 3000; i++ {
		if i == 1500 {
			in.WriteString("panic\n") // fails its batch (and that batch only)
			continue
		}
		fmt.Fprintf(&in, "%d\n", i)
	}
	writeFile(t, dir, "in.txt", in.String())
	sum, dl, err := runFile(t, dir, `id: par
settings: {batch_size: 7}
sources: [{name: in, type: file, path: in.txt, codec: lines}]
services:
  guest: {type: wasm, path: `+wasm+`, instances: 4}
  out: {type: file, path: out.txt}
stages:
  - {id: t, type: transform, service_name: guest}
  - {id: s, type: sink, service_name: out}
edges: [{from: in, to: t}, {from: t, to: s}]
`)
	if err != nil {
		t.Fatal(err)
	}
	// Batch 214 (lines 1498..1504) held the panic: its 7 records are
	// dead-lettered; everything else arrives in order.
	for i := 0; i < 3000; i++ {
		if i >= 1498 && i <= 1504 {
			continue
		}
		fmt.Fprintf(&want, "%d\n", i)
	}
	got := strings.Join(readLines(t, filepath.Join(dir, "out.txt")), "\n") + "\n"
	if got != want.String() || sum.DeadLettered != 7 || !sum.Balanced() {
		t.Fatalf("summary %s, %d dead letters, order kept: %v", sum, strings.Count(dl, "\n"), got == want.String())
	}
}
