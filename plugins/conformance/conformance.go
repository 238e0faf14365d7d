// Package conformance is the conveyor plugin ABI's conformance suite: one
// table of behaviours that every WebAssembly runtime and every guest SDK
// must show, in the spirit of testing/slogtest.
//
// A guest SDK proves itself by building the conformance guest (README.md
// specifies its protocol) and calling Run; a runtime by calling Run for
// each SDK's guest and RunRuntime once:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Target{Runtime: "wazero", Guest: "go", Wasm: wasm})
//	}
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// Target is one conformance guest on one runtime.
type Target struct {
	// Runtime is plugins.Options.Runtime ("" for the default).
	Runtime string
	// Guest names the guest's SDK in failure messages ("go", "rust", "c").
	Guest string
	// Wasm is the built conformance guest.
	Wasm []byte
}

// Case is one behaviour of the suite.
type Case struct {
	Name string
	Run  func(t *testing.T, tg Target)
}

// Cases are the behaviours Run checks, in order.
var Cases = []Case{
	{"echo", testEcho},
	{"empty_config_is_sent", testEmptyConfig},
	{"unknown_mode_fails_init", testUnknownMode},
	{"drop", testDrop},
	{"split", testSplit},
	{"rewrite", testRewrite},
	{"error_odd", testErrorOdd},
	{"mixed_entries_fail_the_input_once", testMixed},
	{"config", testConfig},
	{"log", testLog},
	{"log_rate_limit", testLogFlood},
	{"counter", testCounter},
	{"empty_batch", testEmptyBatch},
	{"large_batch", testLargeBatch},
	{"large_record", testLargeRecord},
	{"binary_and_utf8", testBinary},
	{"lookup", testLookup},
	{"trap", testTrap},
	{"timeout", testTimeout},
	{"memory_limit", testMemory},
	{"stack_overflow", testStack},
}

// Run runs every Case against tg as a subtest.
func Run(t *testing.T, tg Target) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, tg) })
	}
}

// cacheDir keeps compiled guests between runs.
var cacheDir = filepath.Join(os.TempDir(), "conveyor-wasm-conformance-cache")

type loaded struct {
	p    *plugins.Plugin
	logs *plugintest.LogBuffer
}

func tryLoad(t *testing.T, tg Target, cfg map[string]string, limits plugins.Limits) (*loaded, error) {
	t.Helper()
	logs := &plugintest.LogBuffer{}
	p, err := plugins.Load(context.Background(), plugins.Options{
		Name: "conformance-" + tg.Guest, Wasm: tg.Wasm, Runtime: tg.Runtime, Config: cfg,
		Limits: limits, Instances: 1, CacheDir: cacheDir,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return &loaded{p: p, logs: logs}, nil
}

func load(t *testing.T, tg Target, mode string, kv ...string) *loaded {
	t.Helper()
	return loadLimits(t, tg, plugins.Limits{}, mode, kv...)
}

func loadLimits(t *testing.T, tg Target, limits plugins.Limits, mode string, kv ...string) *loaded {
	t.Helper()
	cfg := map[string]string{}
	if mode != "" {
		cfg["mode"] = mode
	}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	l, err := tryLoad(t, tg, cfg, limits)
	if err != nil {
		t.Fatalf("%s guest on %s: load: %v", tg.Guest, runtimeName(tg), err)
	}
	return l
}

func runtimeName(tg Target) string {
	if tg.Runtime == "" {
		return plugins.DefaultRuntime
	}
	return tg.Runtime
}

func (l *loaded) process(t *testing.T, in ...abi.Record) []abi.Output {
	t.Helper()
	outs, err := l.p.Process(context.Background(), in, nil)
	if err != nil {
		t.Fatalf("process: %v", err)
	}
	return outs
}

// rec builds a record: key, payload, then metadata key/value pairs.
func rec(key, payload string, md ...string) abi.Record {
	r := abi.Record{Key: []byte(key), Payload: []byte(payload)}
	for i := 0; i+1 < len(md); i += 2 {
		r.Metadata = append(r.Metadata, abi.KV{Key: []byte(md[i]), Value: []byte(md[i+1])})
	}
	return r
}

func withTime(r abi.Record, ns int64) abi.Record {
	r.EventTime, r.HasEventTime = ns, true
	return r
}

// show renders outputs for comparison: one line per entry.
func show(outs []abi.Output) string {
	var b strings.Builder
	for _, o := range outs {
		switch o.Kind {
		case abi.KindRecord:
			fmt.Fprintf(&b, "%d record key=%q payload=%q", o.Input, o.Record.Key, o.Record.Payload)
			if o.Record.HasEventTime {
				fmt.Fprintf(&b, " time=%d", o.Record.EventTime)
			}
			for _, kv := range o.Record.Metadata {
				fmt.Fprintf(&b, " %s=%q", kv.Key, kv.Value)
			}
		case abi.KindError:
			fmt.Fprintf(&b, "%d error %q", o.Input, o.Err)
		case abi.KindDrop:
			fmt.Fprintf(&b, "%d drop", o.Input)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func echoed(in []abi.Record) []abi.Output {
	outs := make([]abi.Output, len(in))
	for i, r := range in {
		outs[i] = abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: r}
	}
	return outs
}

func expect(t *testing.T, got, want []abi.Output) {
	t.Helper()
	if g, w := show(got), show(want); g != w {
		if len(g) > 2000 {
			g, w = g[:2000]+"...", w[:min(len(w), 2000)]+"..."
		}
		t.Fatalf("outputs:\n%s\nwant:\n%s", g, w)
	}
}

func sample() []abi.Record {
	return []abi.Record{
		withTime(rec("k0", `{"a":1}`, "type", "user", "region", "eu"), 1_700_000_000_000_000_000),
		rec("k1", `{"b":2}`),
		withTime(rec("", `[]`, "only", "md"), -5),
	}
}

func testEcho(t *testing.T, tg Target) {
	l := load(t, tg, "echo")
	in := sample()
	expect(t, l.process(t, in...), echoed(in))
	s := l.p.Stats()
	if s.RecordsIn != 3 || s.RecordsOut != 3 || s.Batches != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func testEmptyConfig(t *testing.T, tg Target) {
	l, err := tryLoad(t, tg, nil, plugins.Limits{})
	if err != nil {
		t.Fatalf("load with an empty config: %v", err)
	}
	in := sample()
	expect(t, l.process(t, in...), echoed(in))
}

func testUnknownMode(t *testing.T, tg Target) {
	_, err := tryLoad(t, tg, map[string]string{"mode": "nonsense"}, plugins.Limits{})
	if err == nil || !strings.Contains(err.Error(), "unknown mode") || !strings.Contains(err.Error(), "init failed") {
		t.Fatalf("err = %v, want an init failure naming the unknown mode", err)
	}
}

func testDrop(t *testing.T, tg Target) {
	l := load(t, tg, "drop")
	expect(t, l.process(t, sample()...), nil)
	if s := l.p.Stats(); s.RecordsIn != 3 || s.RecordsOut != 0 || s.RecordErrors != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func testSplit(t *testing.T, tg Target) {
	for _, n := range []string{"", "0", "2"} {
		t.Run("n="+n, func(t *testing.T) {
			var l *loaded
			parts := 3
			if n == "" {
				l = load(t, tg, "split")
			} else {
				l = load(t, tg, "split", "n", n)
				fmt.Sscan(n, &parts)
			}
			in := sample()
			var want []abi.Output
			for i, r := range in {
				for p := range parts {
					c := r
					c.Metadata = append(slices.Clone(r.Metadata), abi.KV{Key: []byte("part"), Value: fmt.Appendf(nil, "%d", p)})
					want = append(want, abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: c})
				}
			}
			expect(t, l.process(t, in...), want)
		})
	}
}

func testRewrite(t *testing.T, tg Target) {
	l := load(t, tg, "rewrite")
	in := sample()
	var want []abi.Output
	for i, r := range in {
		c := r
		c.Key = append([]byte("k-"), r.Key...)
		c.Metadata = append(slices.Clone(r.Metadata), abi.KV{Key: []byte("seen"), Value: []byte("1")})
		if r.HasEventTime {
			c.EventTime = r.EventTime + 1000
		}
		want = append(want, abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: c})
	}
	expect(t, l.process(t, in...), want)
}

func testErrorOdd(t *testing.T, tg Target) {
	l := load(t, tg, "error_odd")
	in := append(sample(), rec("k3", `{}`))
	want := []abi.Output{
		{Kind: abi.KindRecord, Input: 0, Record: in[0]},
		{Kind: abi.KindError, Input: 1, Err: "odd record"},
		{Kind: abi.KindRecord, Input: 2, Record: in[2]},
		{Kind: abi.KindError, Input: 3, Err: "odd record"},
	}
	expect(t, l.process(t, in...), want)
	if s := l.p.Stats(); s.RecordErrors != 2 || s.RecordsOut != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

func testMixed(t *testing.T, tg Target) {
	l := load(t, tg, "mixed")
	in := sample()[:2]
	want := []abi.Output{{Kind: abi.KindError, Input: 0, Err: "mixed"}, {Kind: abi.KindError, Input: 1, Err: "mixed"}}
	expect(t, l.process(t, in...), want)
	if s := l.p.Stats(); s.RecordErrors != 2 || s.RecordsOut != 0 {
		t.Fatalf("each input must be counted once, as failed: stats = %+v", s)
	}
}

func testConfig(t *testing.T, tg Target) {
	tests := []struct {
		name string
		cfg  []string
		want string
	}{
		{"absent", nil, `{"value":null,"present":false}`},
		{"empty", []string{"value", ""}, `{"value":"","present":true}`},
		{"escaped", []string{"value", "a\"b\\c é"}, `{"value":"a\"b\\c é","present":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := load(t, tg, "config", tt.cfg...)
			outs := l.process(t, rec("k", "ignored"))
			if len(outs) != 1 || outs[0].Kind != abi.KindRecord || string(outs[0].Record.Key) != "k" {
				t.Fatalf("outputs:\n%s", show(outs))
			}
			var got, want any
			if err := json.Unmarshal(outs[0].Record.Payload, &got); err != nil {
				t.Fatalf("payload %q is not JSON: %v", outs[0].Record.Payload, err)
			}
			json.Unmarshal([]byte(tt.want), &want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("payload = %s, want %s", outs[0].Record.Payload, tt.want)
			}
		})
	}
}

// logLines parses the JSON log lines.
func logLines(t *testing.T, l *loaded) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if n := strings.Count(line, `"plugin":`); n != 1 {
			t.Fatalf("log line has the plugin attribute %d times: %s", n, line)
		}
		lines = append(lines, m)
	}
	return lines
}

func testLog(t *testing.T, tg Target) {
	l := load(t, tg, "log")
	in := []abi.Record{rec("a", "hello plugin"), rec("b", "bad \xff utf-8"), rec("c", "")}
	expect(t, l.process(t, in...), echoed(in))
	var msgs []string
	for _, m := range logLines(t, l) {
		if m["level"] == "INFO" && m["stream"] == nil {
			msgs = append(msgs, m["msg"].(string))
		}
	}
	want := []string{"hello plugin", "bad \uFFFD utf-8", ""}
	if !slices.Equal(msgs, want) {
		t.Fatalf("info lines %q, want %q", msgs, want)
	}
}

func testLogFlood(t *testing.T, tg Target) {
	l := load(t, tg, "logflood")
	in := sample()[:2]
	expect(t, l.process(t, in...), echoed(in))
	flood, notes := 0, 0
	for _, m := range logLines(t, l) {
		switch m["msg"] {
		case "flood":
			flood++
		case "plugin log lines suppressed":
			notes++
		}
	}
	s := l.p.Stats()
	if flood >= 10000 || flood == 0 || notes != 1 || s.LogLinesSuppressed != uint64(10000-flood) {
		t.Fatalf("%d flood lines, %d notes, %d suppressed; want < 10000 lines, one note, the rest suppressed", flood, notes, s.LogLinesSuppressed)
	}
}

func testCounter(t *testing.T, tg Target) {
	l := load(t, tg, "counter")
	l.process(t, sample()...)
	l.process(t, sample()[:2]...)
	if got := l.p.Stats().Metrics["records"]; got != 5 {
		t.Fatalf("Metrics[records] = %d, want 5 (metrics %v)", got, l.p.Stats().Metrics)
	}
}

func testEmptyBatch(t *testing.T, tg Target) {
	l := load(t, tg, "echo")
	expect(t, l.process(t), nil)
	if s := l.p.Stats(); s.Batches != 0 {
		t.Fatalf("an empty batch reached the guest: stats = %+v", s)
	}
}

func testLargeBatch(t *testing.T, tg Target) {
	l := load(t, tg, "echo")
	in := make([]abi.Record, 10000)
	for i := range in {
		in[i] = rec(fmt.Sprintf("key-%d", i), fmt.Sprintf(`{"i":%d}`, i), "n", fmt.Sprint(i))
	}
	expect(t, l.process(t, in...), echoed(in))
}

func testLargeRecord(t *testing.T, tg Target) {
	l := load(t, tg, "echo")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	in := []abi.Record{{Key: []byte("big"), Payload: big}, rec("small", "x")}
	outs := l.process(t, in...)
	if len(outs) != 2 || !bytes.Equal(outs[0].Record.Payload, big) || string(outs[1].Record.Payload) != "x" {
		t.Fatalf("1 MiB record did not round-trip (%d outputs)", len(outs))
	}
}

func testBinary(t *testing.T, tg Target) {
	l := load(t, tg, "echo")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	in := []abi.Record{
		{Key: []byte{0, 0xff}, Payload: all},
		rec("ключ", "données ✓ 日本語", "über", "naïve", "emoji", "🚚"),
		{Payload: nil},
	}
	expect(t, l.process(t, in...), echoed(in))
}

func testLookup(t *testing.T, tg Target) {
	l := load(t, tg, "echo")
	if c := l.p.Capabilities(); !c.Lookup || !c.Transform {
		t.Fatalf("capabilities = %+v, want transform and lookup", c)
	}
	keys := [][]byte{[]byte("hit-1"), []byte("miss"), nil, []byte("hit-abc"), []byte("hit-1")}
	res, err := l.p.Lookup(context.Background(), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"key":"hit-1","n":5}`, "miss", "miss", `{"key":"hit-abc","n":7}`, `{"key":"hit-1","n":5}`}
	var got []string
	for _, r := range res {
		if r.Found {
			got = append(got, string(r.Row))
		} else {
			got = append(got, "miss")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lookup = %q, want %q", got, want)
	}
	if s := l.p.Stats(); s.Lookups != 1 || s.LookupKeys != 5 || s.LookupHits != 3 {
		t.Fatalf("stats = %+v", s)
	}
	if res, err := l.p.Lookup(context.Background(), nil, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty lookup = %v, %v", res, err)
	}
}

// expectFault processes one batch, wants a *BatchError of one of kinds,
// and checks that the plugin still answers lookups on a fresh instance.
func expectFault(t *testing.T, l *loaded, kinds ...plugins.Fault) {
	t.Helper()
	_, err := l.p.Process(context.Background(), sample(), nil)
	var be *plugins.BatchError
	if !errors.As(err, &be) || !slices.Contains(kinds, be.Kind) {
		t.Fatalf("err = %v, want a *plugins.BatchError of kind %v", err, kinds)
	}
	s := l.p.Stats()
	if s.FailedBatches != 1 || s.Faults[be.Kind] == 0 {
		t.Fatalf("stats = %+v", s)
	}
	res, err := l.p.Lookup(context.Background(), [][]byte{[]byte("hit-x")}, nil)
	if err != nil || len(res) != 1 || !res[0].Found {
		t.Fatalf("after the fault, lookup = %v, %v; want the plugin to keep working", res, err)
	}
}

func testTrap(t *testing.T, tg Target) {
	expectFault(t, load(t, tg, "trap"), plugins.FaultTrap)
}

func testTimeout(t *testing.T, tg Target) {
	// The limit also bounds instance start (a Go guest's _initialize),
	// which takes a few hundred ms under the race detector on a busy machine.
	l := loadLimits(t, tg, plugins.Limits{BatchTimeout: time.Second}, "loop")
	expectFault(t, l, plugins.FaultTimeout)
}

func testMemory(t *testing.T, tg Target) {
	l := loadLimits(t, tg, plugins.Limits{MemoryPages: 1024}, "grow") // 64 MiB
	expectFault(t, l, plugins.FaultMemory)
}

func testStack(t *testing.T, tg Target) {
	// A Go guest's goroutine stacks live in linear memory: unbounded
	// recursion ends in the memory limit or the Go runtime's own stack
	// limit (a fatal error, a trap); Rust and C guests overflow the
	// runtime's call stack.
	l := loadLimits(t, tg, plugins.Limits{MemoryPages: 1024}, "stack")
	before := peakRSS()
	expectFault(t, l, plugins.FaultStack, plugins.FaultTrap, plugins.FaultMemory)
	// The host's memory stays bounded: the 64 MiB of linear memory plus
	// the runtime's stack for guest frames (before call-depth bounding,
	// wazero peaked ~300 MB per overflowing instance).
	if grew := peakRSS() - before; before > 0 && grew > 160<<20 {
		t.Fatalf("peak resident memory grew by %d MiB during a stack overflow", grew>>20)
	}
}

// peakRSS returns the process's peak resident set size in bytes (Linux),
// or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb << 10
		}
	}
	return 0
}
