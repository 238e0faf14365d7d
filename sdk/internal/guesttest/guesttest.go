// Package guesttest holds the tests every non-Go guest SDK runs the same
// way (sdk/rust, sdk/c): the byte-level strictness of the exports, the PII
// redactor against the Go one on generated payloads, and the benchmarks.
// Each SDK's test package builds its guests with its own toolchain and
// hands them over as a Guest.
package guesttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/conformance"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Guest is one SDK's guests, as its tests build them.
type Guest struct {
	// Lang names the SDK in subtests and benchmarks ("c", "rust").
	Lang string
	// Build compiles the guest at a path relative to the SDK's directory
	// and returns the .wasm file.
	Build func(tb testing.TB, what string) string
	// PIIRedactor, UserTier and Conformance are what Build takes for the
	// SDK's PII redactor and user-tier examples and its conformance guest.
	PIIRedactor, UserTier, Conformance string
	// CacheDir is the compilation cache the test binary shares.
	CacheDir string
}

// load loads a plugin for a test, closed when the test ends.
func (g Guest) load(t testing.TB, name, path string, config map[string]string) *plugins.Plugin {
	t.Helper()
	ctx := context.Background()
	p, err := plugins.Load(ctx, plugins.Options{Name: name, Path: path, Config: config, Instances: 1, CacheDir: g.CacheDir})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

// rawGuest drives a guest's exports directly, without the host's checks,
// so tests can hand it frames the host would never send.
type rawGuest struct {
	mod    api.Module
	stderr *bytes.Buffer
}

// rawRuntime compiles a guest once for many rawGuests.
type rawRuntime struct {
	r        wazero.Runtime
	compiled wazero.CompiledModule
}

func newRawRuntime(t *testing.T, wasm []byte) *rawRuntime {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	_, err := r.NewHostModuleBuilder("conveyor").
		NewFunctionBuilder().WithFunc(func(context.Context, int32, uint32, uint32) {}).Export("log_v1").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32, uint32, uint32, uint32) int32 { return -1 }).Export("config_get_v1").
		NewFunctionBuilder().WithFunc(func(context.Context) int64 { return 0 }).Export("clock_now_v1").
		NewFunctionBuilder().WithFunc(func(context.Context, uint32, uint32, int64) {}).Export("metric_add_v1").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return &rawRuntime{r: r, compiled: compiled}
}

// guest instantiates a fresh instance: a trap leaves an instance unusable.
func (rr *rawRuntime) guest(t *testing.T) *rawGuest {
	t.Helper()
	ctx := context.Background()
	stderr := &bytes.Buffer{}
	mod, err := rr.r.InstantiateModule(ctx, rr.compiled, wazero.NewModuleConfig().WithName("").WithStderr(stderr).WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	return &rawGuest{mod: mod, stderr: stderr}
}

// call writes frame into a conveyor_alloc buffer, calls export with it and
// returns the packed result's bytes (copied).
func (g *rawGuest) call(export string, frame []byte) ([]byte, uint64, error) {
	ctx := context.Background()
	res, err := g.mod.ExportedFunction("conveyor_alloc").Call(ctx, uint64(len(frame)))
	if err != nil {
		return nil, 0, err
	}
	if !g.mod.Memory().Write(uint32(res[0]), frame) {
		panic("conveyor_alloc returned a pointer outside memory")
	}
	res, err = g.mod.ExportedFunction(export).Call(ctx, res[0], uint64(len(frame)))
	if err != nil {
		return nil, 0, err
	}
	ptr, n := abi.UnpackPtrLen(res[0])
	out, ok := g.mod.Memory().Read(ptr, n)
	if !ok {
		panic("result outside memory")
	}
	return bytes.Clone(out), res[0], nil
}

// abiExample is ABI.md section 6.9's input batch: one record, key K,
// payload P, event time 258.
var abiExample = []byte{
	0x43, 0x56, 0x59, 0x42, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x4b,
	0x01, 0x00, 0x00, 0x00, 0x50,
	0x00, 0x00, 0x00, 0x00,
}

func patch(b []byte, off int, v ...byte) []byte {
	b = bytes.Clone(b)
	copy(b[off:], v)
	return b
}

// TestFrames_Strict drives the conformance guest's exports with frames
// byte for byte: the ABI example round-trips exactly, every malformed batch
// or lookup frame of ABI.md section 6.6 traps with the offset on stderr,
// and a malformed config frame fails conveyor_init with the offset in its
// message (as the Go SDK does).
// Strict drives the guest's exports directly with the ABI's example
// frames and malformed ones: each must round-trip or trap with its offset.
func Strict(t *testing.T, g Guest) {
	wasm, err := os.ReadFile(g.Build(t, g.Conformance))
	if err != nil {
		t.Fatal(err)
	}
	rr := newRawRuntime(t, wasm)
	emptyConfig := abi.AppendConfig(nil, nil)
	t.Run("abi_example_echo", func(t *testing.T) {
		g := rr.guest(t)
		if _, packed, err := g.call("conveyor_init", emptyConfig); err != nil || packed != 0 {
			t.Fatalf("init = %#x, %v", packed, err)
		}
		out, _, err := g.call("conveyor_process", abiExample)
		if err != nil {
			t.Fatalf("process: %v\n%s", err, g.stderr)
		}
		// Header with minor 1, kind 2, count 1; entry kind 0, input 0;
		// then the record's bytes exactly as they came in.
		want := append([]byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, abiExample[16:]...)
		if !bytes.Equal(out, want) {
			t.Fatalf("output\n% x\nwant\n% x", out, want)
		}
	})
	t.Run("abi_example_lookup", func(t *testing.T) {
		g := rr.guest(t)
		g.call("conveyor_init", emptyConfig)
		req := []byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 3, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 'h', 'i', 't', '-', 'x', 0, 0, 0, 0}
		out, _, err := g.call("conveyor_lookup", req)
		if err != nil {
			t.Fatalf("lookup: %v\n%s", err, g.stderr)
		}
		row := `{"key":"hit-x","n":5}`
		want := append([]byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 4, 0, 0, 0, 2, 0, 0, 0, 1}, binary.LittleEndian.AppendUint32(nil, uint32(len(row)))...)
		want = append(append(want, row...), 0)
		if !bytes.Equal(out, want) {
			t.Fatalf("output\n% x\nwant\n% x", out, want)
		}
	})
	bad := []struct {
		name, export string
		frame        []byte
		want         string // on stderr, or in the init error
	}{
		{"short header", "conveyor_process", abiExample[:15], "offset 15"},
		{"bad magic", "conveyor_process", patch(abiExample, 0, 'X'), "offset 0"},
		{"major 2", "conveyor_process", patch(abiExample, 4, 2), "offset 4"},
		{"output kind", "conveyor_process", patch(abiExample, 8, 2), "offset 8"},
		{"header flags", "conveyor_process", patch(abiExample, 9, 1), "offset 9"},
		{"reserved", "conveyor_process", patch(abiExample, 11, 1), "offset 10"},
		{"count past end", "conveyor_process", patch(abiExample, 12, 2), "offset 12"},
		{"record flags", "conveyor_process", patch(abiExample, 16, 3), "offset 16"},
		{"event time without flag", "conveyor_process", patch(abiExample, 16, 0), "offset 17"},
		{"key past end", "conveyor_process", patch(abiExample, 25, 200), "offset 25"},
		{"truncated metadata count", "conveyor_process", abiExample[:len(abiExample)-1], "offset 35"},
		{"trailing byte", "conveyor_process", append(bytes.Clone(abiExample), 0), "offset 39"},
		{"lookup kind 1", "conveyor_lookup", patch(abiExample, 8, 1), "offset 8"},
		{"lookup key past end", "conveyor_lookup", []byte{0x43, 0x56, 0x59, 0x42, 1, 0, 1, 0, 3, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 'a'}, "offset 16"},
		{"config unsorted", "conveyor_init", []byte{0x43, 0x56, 0x59, 0x43, 1, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 'b', 0, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 0, 0}, "offset 21"},
		{"config trailing", "conveyor_init", append(bytes.Clone(emptyConfig), 0), "offset 12"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			g := rr.guest(t)
			if tt.export != "conveyor_init" {
				g.call("conveyor_init", emptyConfig)
			}
			out, packed, err := g.call(tt.export, tt.frame)
			if tt.export == "conveyor_init" {
				if err != nil || packed == 0 || !strings.Contains(string(out), tt.want) {
					t.Fatalf("init = %q (%#x), %v; want an init error containing %q", out, packed, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s accepted the frame and answered % x", tt.export, out)
			}
			if !strings.Contains(g.stderr.String(), tt.want) {
				t.Fatalf("stderr %q does not contain %q (err %v)", g.stderr, tt.want, err)
			}
		})
	}
}

// randomPayload writes a random JSON-ish document: objects, arrays,
// strings with escapes, raw numbers and literals, random white space, keys
// the redactor's paths name (some escaped), and sometimes a few mutated
// bytes so that invalid input is covered too.
func randomPayload(r *rand.Rand) []byte {
	var b strings.Builder
	keys := []string{"email", "user", "phone", "users", "0", "1", "\\u0065mail", "k\\\"q", "x\\ty", "e\\u006dail", "ph\\u006fne", "n", ""}
	ws := func() {
		for r.IntN(4) == 0 {
			b.WriteByte(" \t\n\r"[r.IntN(4)])
		}
	}
	var value func(depth int)
	value = func(depth int) {
		ws()
		switch k := r.IntN(9); {
		case k < 2 && depth < 5:
			b.WriteByte('{')
			for i, n := 0, r.IntN(4); i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				ws()
				b.WriteString("\"" + keys[r.IntN(len(keys))] + "\"")
				ws()
				b.WriteByte(':')
				value(depth + 1)
			}
			ws()
			b.WriteByte('}')
		case k < 4 && depth < 5:
			b.WriteByte('[')
			for i, n := 0, r.IntN(4); i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				value(depth + 1)
			}
			ws()
			b.WriteByte(']')
		case k < 6:
			parts := []string{"a", "@b.c", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "é", "\\x", " "}
			b.WriteByte('"')
			for i, n := 0, r.IntN(4); i < n; i++ {
				b.WriteString(parts[r.IntN(len(parts))])
			}
			b.WriteByte('"')
		case k < 8:
			nums := []string{"0", "-1", "1.50", "1e5", "+2", "1.2.3", "NaN", "-Inf", "007", "-"}
			b.WriteString(nums[r.IntN(len(nums))])
		default:
			b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
		}
		ws()
	}
	value(0)
	p := []byte(b.String())
	if r.IntN(4) == 0 && len(p) > 0 {
		for i, n := 0, 1+r.IntN(3); i < n; i++ {
			const alphabet = "{}[]\",:\\ aeu0\x01\xff"
			p[r.IntN(len(p))] = alphabet[r.IntN(len(alphabet))]
		}
	}
	return p
}

// TestPIIRedactor_MatchesGoRandom compares this SDK's redactor with the Go
// one on 2000 generated payloads per config (fixed seed).
// RandomRedactor checks the guest's PII redactor against the Go one on
// generated payloads.
func RandomRedactor(t *testing.T, g Guest) {
	path := g.Build(t, g.PIIRedactor)
	goPath := plugintest.BuildGo(t, "../../examples/plugins/pii-redactor")
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]abi.Record, 2000)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "k%d", i), Payload: randomPayload(r)}
	}
	ctx := context.Background()
	for _, cfg := range []map[string]string{
		{"fields": "email,user.phone,users.1,0"},
		{"fields": "e\\u006dail,k\"q,user.ph\\u006fne,x\ty", "replacement": "q\"\x01é"},
	} {
		p, gp := g.load(t, g.Lang, path, cfg), g.load(t, "go", goPath, cfg)
		got, err := p.Process(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := gp.Process(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d outputs, Go %d", len(got), len(want))
		}
		// The generator must cover all three outcomes.
		var errs, changed, same int
		for _, w := range want {
			switch {
			case w.Kind == abi.KindError:
				errs++
			case string(w.Record.Payload) != string(in[w.Input].Payload):
				changed++
			default:
				same++
			}
		}
		if errs < 50 || changed < 50 || same < 50 {
			t.Errorf("config %q: %d errors, %d redacted, %d unchanged: the generator lost coverage", cfg, errs, changed, same)
		}
		bad := 0
		for i := range want {
			if gn, wn := Normalize(got[i]), Normalize(want[i]); !reflect.DeepEqual(gn, wn) && bad < 5 {
				bad++
				t.Errorf("config %q, payload %q:\n  %s %s\n   go %s", cfg, in[wn.Input].Payload, g.Lang, Show(gn), Show(wn))
			}
		}
	}
}

// benchBatch runs batches of in through a plugin and reports ns/record.
func benchBatch(b *testing.B, g Guest, path string, cfg map[string]string, timeout time.Duration, in []abi.Record) {
	p, err := plugins.Load(context.Background(), plugins.Options{
		Path: path, Config: cfg, Instances: 1, CacheDir: g.CacheDir,
		Limits: plugins.Limits{BatchTimeout: timeout},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	var outs []abi.Output
	b.ReportAllocs()
	for b.Loop() {
		if outs, err = p.Process(context.Background(), in, outs[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in)), "ns/record")
}

// BenchmarkEcho_Process: the conformance guest in echo mode, batches of
// 256 records of 200 B, with the default 10 s batch timeout and none. The
// Go SDK's equivalent is BenchmarkNoop_Process in examples/plugins.
// BenchEcho benchmarks the conformance guest's echo mode.
func BenchEcho(b *testing.B, g Guest) {
	path := g.Build(b, g.Conformance)
	in := make([]abi.Record, 256)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "key-%04d", i), Payload: bytes.Repeat([]byte("x"), 200)}
	}
	for _, bc := range []struct {
		name    string
		timeout time.Duration
	}{{"timeout=10s", 0}, {"no-timeout", -1}} {
		b.Run(bc.name, func(b *testing.B) { benchBatch(b, g, path, map[string]string{"mode": "echo"}, bc.timeout, in) })
	}
}

// BenchmarkPIIRedactor_Process: this SDK's redactor and the Go one on the
// same batch of 256 customer events, two fields redacted per record.
// BenchPIIRedactor benchmarks the guest's redactor against the Go one.
func BenchPIIRedactor(b *testing.B, g Guest) {
	in := make([]abi.Record, 256)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "c%d", i), Payload: fmt.Appendf(nil,
			`{"customer_id":%d,"email":"user%d@example.com","phone":"+1 555 %04d","address":{"street":"%d Main St","city":"Springfield"},"total":%d.50,"items":[1,2,3]}`,
			i, i, i, i, i)}
	}
	cfg := map[string]string{"fields": "email,phone,address.street"}
	b.Run(g.Lang, func(b *testing.B) { benchBatch(b, g, g.Build(b, g.PIIRedactor), cfg, -1, in) })
	b.Run("go", func(b *testing.B) {
		benchBatch(b, g, plugintest.BuildGo(b, "../../examples/plugins/pii-redactor"), cfg, -1, in)
	})
}

// BenchmarkLookup: the conformance guest's lookup, batches of 256 keys,
// half hits.
// BenchLookup benchmarks the conformance guest's lookups.
func BenchLookup(b *testing.B, g Guest) {
	p, err := plugins.Load(context.Background(), plugins.Options{
		Path: g.Build(b, g.Conformance), Instances: 1, CacheDir: g.CacheDir, Limits: plugins.Limits{BatchTimeout: -1},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	keys := make([][]byte, 256)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%d", i)
		if i%2 == 0 {
			keys[i] = fmt.Appendf(nil, "hit-%d", i)
		}
	}
	var res []plugins.LookupResult
	b.ReportAllocs()
	for b.Loop() {
		if res, err = p.Lookup(context.Background(), keys, res[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}

// Normalize copies an output's bytes out of the guest's memory, with
// empty (not nil) metadata, so that outputs compare with reflect.DeepEqual.
func Normalize(o abi.Output) abi.Output {
	o.Record.Key = append([]byte{}, o.Record.Key...)
	o.Record.Payload = append([]byte{}, o.Record.Payload...)
	md := []abi.KV{}
	for _, kv := range o.Record.Metadata {
		md = append(md, abi.KV{Key: append([]byte{}, kv.Key...), Value: append([]byte{}, kv.Value...)})
	}
	o.Record.Metadata = md
	return o
}

// Show describes an output for a failure message, cut to 400 bytes.
func Show(o abi.Output) string {
	s := fmt.Sprintf("%v key=%q payload=%q md=%q t=%v/%d", o.Kind, o.Record.Key, o.Record.Payload, o.Record.Metadata, o.Record.HasEventTime, o.Record.EventTime)
	if o.Kind == abi.KindError {
		s = fmt.Sprintf("error %q", o.Err)
	}
	if len(s) > 400 {
		s = s[:200] + " ... " + s[len(s)-200:]
	}
	return s
}

// redactorPayloads exercise what the Go redactor's JSON library does:
// white space, escapes, duplicate and escaped keys, arrays, numbers kept as
// written, lenient parsing, errors.
var redactorPayloads = []string{
	`{"email":"ann@example.com","user":{"phone":"+1 555 0100","name":"Ann"},"total":12.50}`,
	`{ "email" : "a@b.c" , "n" : 1e5 , "s":"x\"y\\z\u00e9" }`,
	`{"name":"no pii here"}`,
	` { "name" : "x" } `,
	`42`, `"email"`, `null`, `[1,2,3]`, `[]`, `{}`,
	`{"users":[{"email":"a"},{"email":"b"}],"ssn":123456789}`,
	`{"card":{"number":"4111","exp":"12/30"},"ok":true,"no":false,"nil":null}`,
	`{"\u0065mail":"escaped key","email":"plain key"}`,
	`{"email":"first","email":"second"}`,
	`{"x\ty":1,"email":"e"}`,
	`{"user":{"ph\u006fne":"p","k\"q":1}}`,
	`{"user":[{"phone":1}],"email":[1,{"a":[]}]}`,
	`{"email":NaN,"n":-Inf,"m":+1.5e-3}`,
	"{\"email\":\"tab\there\",\"ctl\":\"\x01\"}",
	`{"email":"a",}`, `{"email"}`, `email=a@b.c`, ``, `   `, `{"a":1} x`, `[1,2`, `{"a":tru}`, `nul`,
	`{"a":"unterminated`, `{"a":"\"}`, `{"a":"\\"}`,
	strings.Repeat("[", 300) + strings.Repeat("]", 300),
	strings.Repeat("[", 301) + strings.Repeat("]", 301),
	`{"email":"` + strings.Repeat("x", 100) + `"` + strings.Repeat(" ", 50),
	"{\"email\":\"caf\xc3\xa9\",\"bad\":\"\xff\xfe\"}",
	`{"a":tru` + strings.Repeat("e", 100), `{"a":nul` + strings.Repeat("\u00e9", 50), "{\"a\":1}\x01\xff", "{\"a\":1}\xc3\xa9",
	"\x7f", "-", "+", "1.2.3", "--5", "-Infinity", "[0x10]", "{\"a\":[1,]}", "{\"a\"  :  \xc3",
	`{"email":"x"}` + strings.Repeat(" \u2028", 30) + "!",
	"{\"a\":1} \u2028\u00a0\u00ad\u200b\ufeff\U0001F600\U000E0001\u0085\a\v\b",
}

var redactorConfigs = []map[string]string{
	{"fields": "email,user.phone"},
	{"fields": " ssn , card, nil ,no", "replacement": "***"},
	{"fields": "users.1.email,users.+0.email,users.-0.ssn,user.0.phone,email.1.a"},
	{"fields": "email", "replacement": "q\"\\\x01\n\u00e9\u00a0\u200b"},
	{"fields": "email,k\"q,user.k\"q,x\ty"},
	{"fields": "e\\u006dail,user.ph\\u006fne"},
	{"fields": "0,1,2,email.0"},
}

// MatchesGo runs the guest's and the Go pii-redactor on the
// same batches through the host and requires identical outputs (payload
// bytes, keys, metadata, event times, error texts) and counters.
func MatchesGo(t *testing.T, g Guest) {
	cPath := g.Build(t, g.PIIRedactor)
	goPath := plugintest.BuildGo(t, "../../examples/plugins/pii-redactor")
	var in []abi.Record
	for i, p := range redactorPayloads {
		r := abi.Record{Key: []byte(fmt.Sprintf("k%d", i)), Payload: []byte(p)}
		if i%2 == 0 {
			r.HasEventTime, r.EventTime = true, int64(i)*1e9-5
			r.Metadata = []abi.KV{{Key: []byte("source"), Value: []byte("test")}, {Key: []byte("n"), Value: []byte(fmt.Sprint(i))}}
		}
		in = append(in, r)
	}
	ctx := context.Background()
	for ci, cfg := range redactorConfigs {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			cp := g.load(t, g.Lang+"-redactor", cPath, cfg)
			gp := g.load(t, "go-redactor", goPath, cfg)
			got, err := cp.Process(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := gp.Process(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("config %q: %d outputs, Go %d", cfg, len(got), len(want))
			}
			for i := range want {
				gn, wn := Normalize(got[i]), Normalize(want[i])
				if !reflect.DeepEqual(gn, wn) {
					t.Errorf("config %q, input %d %.80q:\n %4s %s\n   go %s", cfg, wn.Input, redactorPayloads[wn.Input], g.Lang, Show(gn), Show(wn))
				}
			}
			gm, wm := cp.Stats().Metrics["fields_redacted"], gp.Stats().Metrics["fields_redacted"]
			if gm != wm {
				t.Errorf("config %q: fields_redacted = %d, Go %d", cfg, gm, wm)
			}
		})
	}
}

// InitErrors checks that bad configuration fails the load
// with the same text as the Go redactor.
func InitErrors(t *testing.T, g Guest) {
	cPath := g.Build(t, g.PIIRedactor)
	ctx := context.Background()
	for _, cfg := range []map[string]string{nil, {"fields": " , ,"}, {"fields": "user..phone"}} {
		_, err := plugins.Load(ctx, plugins.Options{Name: "r", Path: cPath, Config: cfg, Instances: 1, CacheDir: "off"})
		if err == nil {
			t.Fatalf("config %q: loaded", cfg)
		}
		want := `config "fields": required`
		if cfg["fields"] == "user..phone" {
			want = `config "fields": field path "user..phone" has an empty segment`
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: %v, want it to contain %q", cfg, err, want)
		}
	}
}

// Exports checks the module shape: a reactor with the ABI
// 1.1 exports and no imports beyond the allow-list (the host checks them).
func Exports(t *testing.T, g Guest) {
	wasm, err := os.ReadFile(g.Build(t, g.PIIRedactor))
	if err != nil {
		t.Fatal(err)
	}
	info, err := plugins.InspectWith(context.Background(), wasm, plugins.InspectOptions{Config: map[string]string{"fields": "email"}})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Loadable || info.ABI != "1.1" || !info.Transform || info.Lookup || info.Init != "ok" {
		t.Fatalf("inspect: %+v", info)
	}
	var names []string
	for _, e := range info.Exports {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	for _, want := range []string{"_initialize", "conveyor_abi_version", "conveyor_alloc", "conveyor_close", "conveyor_init", "conveyor_process"} {
		if i := sort.SearchStrings(names, want); i == len(names) || names[i] != want {
			t.Errorf("export %s missing from %q", want, names)
		}
	}
}

// Conformance runs the ABI conformance suite (plugins/conformance)
// against this SDK's conformance guest on the default runtime;
// plugins/conformance runs it on every runtime.
func Conformance(t *testing.T, g Guest) {
	wasm, err := os.ReadFile(g.Build(t, g.Conformance))
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, conformance.Target{Guest: g.Lang, Wasm: wasm})
}

// UserTier looks up the same keys in the guest's user-tier
// lookup plugin and the Go one (examples/plugins/user-tier), with and
// without a default tier, and requires the same rows and misses.
func UserTier(t *testing.T, g Guest) {
	path := g.Build(t, g.UserTier)
	goPath := plugintest.BuildGo(t, "../../examples/plugins/user-tier")
	keys := [][]byte{[]byte("u1"), []byte("u2"), []byte("nobody"), nil, []byte("u3"), []byte("c1"), []byte("u1"), []byte("U1"), []byte("u1 ")}
	ctx := context.Background()
	for _, cfg := range []map[string]string{nil, {"default_tier": "free"}, {"default_tier": "a\"b\\c é"}} {
		p := g.load(t, g.Lang+"-user-tier", path, cfg)
		gp := g.load(t, "go-user-tier", goPath, cfg)
		if c := p.Capabilities(); !c.Lookup || c.Transform {
			t.Fatalf("capabilities = %+v, want a lookup only", c)
		}
		got, err := p.Lookup(ctx, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := gp.Lookup(ctx, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("config %q: %d results, Go %d", cfg, len(got), len(want))
		}
		for i := range want {
			if got[i].Found != want[i].Found || !bytes.Equal(got[i].Row, want[i].Row) {
				t.Errorf("config %q, key %q: %v %s, Go %v %s", cfg, keys[i], got[i].Found, got[i].Row, want[i].Found, want[i].Row)
			}
		}
	}
}
