// Package plugins_test runs the example plugins end to end: each example is
// compiled from source to Wasm (plugins/plugintest.BuildGo, cached) and driven
// through the host runtime (plugins.Load / Process) exactly as a pipeline's
// transform stage drives it.
package plugins_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// cacheDir keeps compiled modules between test runs, like the engine does.
var cacheDir = filepath.Join(os.TempDir(), "conveyor-wasm-examples-cache")

// load builds the plugin in dir and loads it with cfg. The plugin's log goes
// to the returned buffer.
func load(tb testing.TB, dir string, cfg map[string]string) (*plugins.Plugin, *plugintest.LogBuffer) {
	tb.Helper()
	p, logs, err := tryLoad(tb, dir, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return p, logs
}

func tryLoad(tb testing.TB, dir string, cfg map[string]string) (*plugins.Plugin, *plugintest.LogBuffer, error) {
	tb.Helper()
	logs := &plugintest.LogBuffer{}
	p, err := plugins.Load(context.Background(), plugins.Options{
		Name:      filepath.Base(dir),
		Path:      plugintest.BuildGo(tb, dir),
		Config:    cfg,
		Instances: 1,
		CacheDir:  cacheDir,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return nil, logs, err
	}
	tb.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return p, logs, nil
}

func process(tb testing.TB, p *plugins.Plugin, in ...abi.Record) []abi.Output {
	tb.Helper()
	outs, err := p.Process(context.Background(), in, nil)
	if err != nil {
		tb.Fatalf("process: %v", err)
	}
	return outs
}

func rec(key, payload string, md ...string) abi.Record {
	r := abi.Record{Key: []byte(key), Payload: []byte(payload)}
	for i := 0; i+1 < len(md); i += 2 {
		r.Metadata = append(r.Metadata, abi.KV{Key: []byte(md[i]), Value: []byte(md[i+1])})
	}
	return r
}

// out is an output in a form that compares and prints well.
type out struct {
	Kind    abi.OutputKind
	Input   uint32
	Key     string
	Payload string
	MD      string // "k=v,k=v"
	ET      int64  // -1: none
	Err     string
}

func simplify(outs []abi.Output) []out {
	var s []out
	for _, o := range outs {
		x := out{Kind: o.Kind, Input: o.Input, Key: string(o.Record.Key), Payload: string(o.Record.Payload), ET: -1, Err: o.Err}
		if o.Record.HasEventTime {
			x.ET = o.Record.EventTime
		}
		var md []string
		for _, kv := range o.Record.Metadata {
			md = append(md, string(kv.Key)+"="+string(kv.Value))
		}
		x.MD = strings.Join(md, ",")
		s = append(s, x)
	}
	return s
}

func check(t *testing.T, got []abi.Output, want []out) {
	t.Helper()
	if g := simplify(got); !reflect.DeepEqual(g, want) {
		t.Fatalf("outputs\n got %+v\nwant %+v", g, want)
	}
}

const notJSONPrefix = "payload is not JSON: "

// checkErrPrefix checks that output i is a per-record error for input with
// the given prefix, and blanks its text so the rest compares exactly.
func checkErrPrefix(t *testing.T, outs []abi.Output, i int, input uint32, prefix string) {
	t.Helper()
	if outs[i].Kind != abi.KindError || outs[i].Input != input || !strings.HasPrefix(outs[i].Err, prefix) {
		t.Fatalf("output %d = %+v, want an error for input %d starting %q", i, outs[i], input, prefix)
	}
	outs[i].Err = prefix
}

func TestPIIRedactor_Process_RedactsFields(t *testing.T) {
	p, _ := load(t, "pii-redactor", map[string]string{"fields": "email,user.phone"})
	outs := process(t, p,
		rec("a", `{"email":"ann@example.com","user":{"phone":"+1 555","name":"Ann"},"total":12.50}`, "src", "shop"),
		rec("b", `{"user":{"name":"Bob"}}`),
		rec("c", `email=ann@example.com`),
		rec("d", `{"email":null}`),
	)
	if len(outs) != 4 {
		t.Fatalf("got %d outputs, want 4: %+v", len(outs), simplify(outs))
	}
	checkErrPrefix(t, outs, 2, 2, notJSONPrefix)
	check(t, outs, []out{
		{Input: 0, Key: "a", Payload: `{"email":"[REDACTED]","user":{"phone":"[REDACTED]","name":"Ann"},"total":12.50}`, MD: "src=shop", ET: -1},
		{Input: 1, Key: "b", Payload: `{"user":{"name":"Bob"}}`, ET: -1},
		{Kind: abi.KindError, Input: 2, ET: -1, Err: notJSONPrefix},
		{Input: 3, Key: "d", Payload: `{"email":"[REDACTED]"}`, ET: -1},
	})
	if got := p.Stats().Metrics["fields_redacted"]; got != 3 {
		t.Fatalf("fields_redacted = %d, want 3", got)
	}
}

func TestPIIRedactor_Load_MissingFields(t *testing.T) {
	_, _, err := tryLoad(t, "pii-redactor", nil)
	if err == nil || !strings.Contains(err.Error(), `config "fields": required`) {
		t.Fatalf("Load without fields: err = %v, want the plugin's config error", err)
	}
}

func TestFilter_Process_KeepsMatching(t *testing.T) {
	p, _ := load(t, "filter", map[string]string{"field": "status", "equals": "paid"})
	outs := process(t, p,
		rec("1", `{"id":1,"status":"paid"}`),
		rec("2", `{"id":2,"status":"open"}`),
		rec("3", `{"id":3}`),
		rec("4", `{"id":4,"status":"paid"}`),
		rec("5", `status=paid`),
	)
	if len(outs) != 3 {
		t.Fatalf("got %d outputs, want 3: %+v", len(outs), simplify(outs))
	}
	checkErrPrefix(t, outs, 2, 4, notJSONPrefix)
	check(t, outs, []out{
		{Input: 0, Key: "1", Payload: `{"id":1,"status":"paid"}`, ET: -1},
		{Input: 3, Key: "4", Payload: `{"id":4,"status":"paid"}`, ET: -1},
		{Kind: abi.KindError, Input: 4, ET: -1, Err: notJSONPrefix},
	})
	if s := p.Stats(); s.RecordsIn != 5 || s.RecordsOut != 2 || s.RecordErrors != 1 {
		t.Fatalf("stats in/out/errors = %d/%d/%d, want 5/2/1", s.RecordsIn, s.RecordsOut, s.RecordErrors)
	}
}

func TestSplitter_Process_OnePerElement(t *testing.T) {
	p, _ := load(t, "splitter", map[string]string{"field": "order.lines"})
	in := rec("order-7", `{"order":{"id":7,"lines":[{"sku":"a","qty":1},{"sku":"b","qty":2},3]}}`, "src", "shop")
	in.EventTime, in.HasEventTime = 1_700_000_000_000_000_000, true
	outs := process(t, p,
		in,
		rec("empty", `{"order":{"lines":[]}}`),
		rec("missing", `{"order":{}}`),
		rec("object", `{"order":{"lines":{"sku":"a"}}}`),
		rec("bad", `{"order":`),
	)
	if len(outs) != 6 {
		t.Fatalf("got %d outputs, want 6: %+v", len(outs), simplify(outs))
	}
	checkErrPrefix(t, outs, 5, 4, notJSONPrefix)
	const et = 1_700_000_000_000_000_000
	check(t, outs, []out{
		{Input: 0, Key: "order-7-0", Payload: `{"sku":"a","qty":1}`, MD: "src=shop,split.index=0,split.count=3", ET: et},
		{Input: 0, Key: "order-7-1", Payload: `{"sku":"b","qty":2}`, MD: "src=shop,split.index=1,split.count=3", ET: et},
		{Input: 0, Key: "order-7-2", Payload: `3`, MD: "src=shop,split.index=2,split.count=3", ET: et},
		{Kind: abi.KindError, Input: 2, ET: -1, Err: `field "order.lines" not found`},
		{Kind: abi.KindError, Input: 3, ET: -1, Err: `field "order.lines" is object, not an array`},
		{Kind: abi.KindError, Input: 4, ET: -1, Err: notJSONPrefix},
	})
}

// TestNoop_Process_RoundTrip sends every field shape across the boundary
// and back: the host's abi encoder, the SDK's decoder and streaming encoder,
// and the host's abi decoder must agree byte for byte.
func TestNoop_Process_RoundTrip(t *testing.T) {
	p, _ := load(t, "noop", nil)
	in := []abi.Record{
		rec("k", `{"a":1}`, "m1", "v1", "m2", ""),
		{},
		{Key: []byte("\x00\xff"), Payload: bytes.Repeat([]byte{0, 1, 2, 255}, 300_000), EventTime: -1, HasEventTime: true},
		{Key: []byte("epoch"), EventTime: 0, HasEventTime: true},
	}
	for round := range 3 { // reuses the guest's buffers
		outs := process(t, p, in...)
		if len(outs) != len(in) {
			t.Fatalf("round %d: %d outputs for %d inputs", round, len(outs), len(in))
		}
		for i, o := range outs {
			r := o.Record
			if o.Kind != abi.KindRecord || o.Input != uint32(i) || !bytes.Equal(r.Key, in[i].Key) ||
				!bytes.Equal(r.Payload, in[i].Payload) || r.HasEventTime != in[i].HasEventTime ||
				r.EventTime != in[i].EventTime || len(r.Metadata) != len(in[i].Metadata) {
				t.Fatalf("round %d: output %d = %+v, want input %d unchanged", round, i, simplify(outs[i:i+1]), i)
			}
			for j, kv := range r.Metadata {
				if !bytes.Equal(kv.Key, in[i].Metadata[j].Key) || !bytes.Equal(kv.Value, in[i].Metadata[j].Value) {
					t.Fatalf("round %d: output %d metadata %d = %q=%q", round, i, j, kv.Key, kv.Value)
				}
			}
		}
	}
}

func TestEnrich_Process_MetadataAndTime(t *testing.T) {
	p, _ := load(t, "enrich", map[string]string{"metadata": "env=prod,team=data"})
	before := time.Now()
	outs := process(t, p, rec("a", `{"id":1}`, "env", "dev"), rec("b", `[1]`))
	after := time.Now()
	if len(outs) != 2 {
		t.Fatalf("got %d outputs, want 2", len(outs))
	}
	var payload struct {
		ID          int       `json:"id"`
		ProcessedAt time.Time `json:"processed_at"`
	}
	if err := json.Unmarshal(outs[0].Record.Payload, &payload); err != nil {
		t.Fatalf("output payload %s: %v", outs[0].Record.Payload, err)
	}
	if payload.ID != 1 || payload.ProcessedAt.Before(before) || payload.ProcessedAt.After(after) {
		t.Fatalf("payload %s: processed_at not within [%v, %v]", outs[0].Record.Payload, before, after)
	}
	outs[0].Record.Payload = nil
	check(t, outs, []out{
		{Input: 0, Key: "a", MD: "env=prod,team=data", ET: -1},
		{Kind: abi.KindError, Input: 1, ET: -1, Err: "payload is a JSON array, not an object"},
	})
}

// TestSDKGuest_Process_Features drives testdata/sdkguest, which picks its
// behaviour from each record's key, through the real host.
func TestSDKGuest_Process_Features(t *testing.T) {
	p, logs := load(t, "testdata/sdkguest", map[string]string{"greeting": "hello"})
	before := time.Now().UnixNano()
	outs := process(t, p,
		rec("pass", "p"),
		rec("drop", "x"),
		rec("error", "x"),
		rec("panic", "xyz"),
		rec("split", "3"),
		rec("config", ""),
		rec("log", "l"),
		rec("now", ""),
	)
	after := time.Now().UnixNano()
	if len(outs) != 9 {
		t.Fatalf("got %d outputs, want 9: %+v", len(outs), simplify(outs))
	}
	var now int64
	if _, err := fmt.Sscan(string(outs[8].Record.Payload), &now); err != nil || now < before || now > after {
		t.Fatalf("Now() in the guest = %s, want a time within the call", outs[8].Record.Payload)
	}
	outs[8].Record.Payload = nil
	check(t, outs, []out{
		{Input: 0, Key: "pass", Payload: "p", MD: "seen=yes", ET: -1},
		{Kind: abi.KindError, Input: 2, ET: -1, Err: "record rejected"},
		{Kind: abi.KindError, Input: 3, ET: -1, Err: "panic: runtime error: index out of range [3] with length 0"},
		{Input: 4, Key: "split0", Payload: "3", ET: -1},
		{Input: 4, Key: "split1", Payload: "3", ET: -1},
		{Input: 4, Key: "split2", Payload: "3", ET: -1},
		{Input: 5, Key: "config", Payload: "hello|hello", MD: "seen=yes", ET: -1},
		{Input: 6, Key: "log", Payload: "l", MD: "seen=yes", ET: -1},
		{Input: 7, Key: "now", MD: "seen=yes", ET: -1},
	})
	s := p.Stats()
	if s.Metrics["logged"] != 1 || s.FailedBatches != 0 || len(nonZero(s.Faults)) != 0 {
		t.Fatalf("stats = %+v, want logged=1 and no faults (a recovered panic is not a trap)", s)
	}
	if l := logs.String(); !strings.Contains(l, "hello from the guest key=log") || !strings.Contains(l, "level=WARN") {
		t.Fatalf("guest log line missing from the host log:\n%s", l)
	}
}

func nonZero(m map[plugins.Fault]uint64) map[plugins.Fault]uint64 {
	out := map[plugins.Fault]uint64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func TestSDKGuest_Load_InitError(t *testing.T) {
	_, _, err := tryLoad(t, "testdata/sdkguest", map[string]string{"fail_init": "bad configuration: x"})
	if err == nil || !strings.Contains(err.Error(), "bad configuration: x") {
		t.Fatalf("Load = %v, want the OnInit error text", err)
	}
	var be *plugins.BatchError
	if errors.As(err, &be) {
		t.Fatalf("init failure reported as a batch error: %v", err)
	}
}

// BenchmarkNoop_Process is the full cost of the plugin boundary for the Go
// SDK: host encode, guest decode + no-op transform + encode, host decode;
// 256 records of 200 B per batch, with and without the batch time limit.
// The raw-abi case runs the host's own test guest, which implements the ABI
// by hand without the SDK, for comparison.
func BenchmarkNoop_Process(b *testing.B) {
	guests := []struct{ name, dir string }{
		{"sdk", "noop"},
		{"raw-abi", "../../plugins/testdata/guests/noop"},
	}
	for _, g := range guests {
		for _, bc := range []struct {
			name    string
			timeout time.Duration
		}{{"timeout=10s", 0}, {"no-timeout", -1}} {
			b.Run(g.name+"/"+bc.name, func(b *testing.B) {
				p, err := plugins.Load(context.Background(), plugins.Options{
					Path: plugintest.BuildGo(b, g.dir), Instances: 1, CacheDir: cacheDir,
					Limits: plugins.Limits{BatchTimeout: bc.timeout},
				})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close(context.Background())
				in := make([]abi.Record, 256)
				for i := range in {
					in[i] = abi.Record{Key: fmt.Appendf(nil, "key-%04d", i), Payload: bytes.Repeat([]byte("x"), 200)}
				}
				var outs []abi.Output
				b.ReportAllocs()
				for b.Loop() {
					if outs, err = p.Process(context.Background(), in, outs[:0]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in)), "ns/record")
			})
		}
	}
}

func TestUserTier_Lookup_EndToEnd(t *testing.T) {
	p, _ := load(t, "user-tier", nil)
	if c := p.Capabilities(); !c.Lookup || c.Transform {
		t.Fatalf("capabilities = %+v, want a lookup only", c)
	}
	res, err := p.Lookup(context.Background(), [][]byte{[]byte("u2"), []byte("zz"), []byte("c1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v %s | %v | %v %s", res[0].Found, res[0].Row, res[1].Found, res[2].Found, res[2].Row)
	want := `true {"user_id":"u2","tier":"silver","since":"2023-07-15"} | false | true {"user_id":"c1","tier":"gold","since":"2020-11-30"}`
	if got != want {
		t.Fatalf("lookup = %s\nwant     %s", got, want)
	}
	if _, err := p.Process(context.Background(), []abi.Record{rec("k", "{}")}, nil); !errors.Is(err, plugins.ErrNotTransform) {
		t.Fatalf("Process on a lookup-only plugin: err = %v, want ErrNotTransform", err)
	}
}
