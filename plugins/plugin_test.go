package plugins

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

func TestPlugin_Process_NoopCopiesRecords(t *testing.T) {
	p, _ := loadGuest(t, "noop", Options{})
	in := []abi.Record{
		{Key: []byte("a"), Payload: []byte(`{"n":1}`), EventTime: 42, HasEventTime: true,
			Metadata: []abi.KV{{Key: []byte("h"), Value: []byte("v")}}},
		{Payload: []byte("no key")},
	}
	out, err := p.Process(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("got %d outputs, want 2", len(out))
	}
	for i, o := range out {
		if o.Kind != abi.KindRecord || o.Input != uint32(i) ||
			string(o.Record.Key) != string(in[i].Key) || string(o.Record.Payload) != string(in[i].Payload) ||
			o.Record.HasEventTime != in[i].HasEventTime || o.Record.EventTime != in[i].EventTime {
			t.Errorf("output %d = %+v, want a copy of %+v", i, o, in[i])
		}
	}
	if md := out[0].Record.Metadata; len(md) != 1 || string(md[0].Key) != "h" || string(md[0].Value) != "v" {
		t.Errorf("metadata = %+v", md)
	}
	// Outputs stay valid after further batches reuse guest memory.
	if _, err := p.Process(context.Background(), recs("zzzzzzz", "zzzzzz"), nil); err != nil {
		t.Fatal(err)
	}
	if string(out[0].Record.Payload) != `{"n":1}` {
		t.Fatalf("output aliases guest memory: payload now %q", out[0].Record.Payload)
	}
	st := p.Stats()
	if st.Batches != 2 || st.RecordsIn != 4 || st.RecordsOut != 4 || st.InstancesCreated != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestPlugin_Process_AppendsToOut(t *testing.T) {
	p, _ := loadGuest(t, "noop", Options{})
	prev := []abi.Output{{Kind: abi.KindDrop, Input: 7}}
	out, err := p.Process(context.Background(), recs("x"), prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Input != 7 || string(out[1].Record.Payload) != "x" {
		t.Fatalf("out = %+v", out)
	}
	if out, err = p.Process(context.Background(), nil, out); err != nil || len(out) != 2 {
		t.Fatalf("empty batch: %v, %d outputs", err, len(out))
	}
}

func TestPlugin_Process_ConcurrentUsesPool(t *testing.T) {
	p, _ := loadGuest(t, "noop", Options{Instances: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				payload := fmt.Sprintf("g%d-%d", g, i)
				out, err := p.Process(context.Background(), recs(payload, payload+"b"), nil)
				if err != nil {
					errs <- err
					return
				}
				if len(out) != 2 || string(out[0].Record.Payload) != payload || string(out[1].Record.Payload) != payload+"b" {
					errs <- fmt.Errorf("batch %s: outputs %+v", payload, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := p.Stats()
	if st.Batches != 40 || st.InstancesCreated > 2 {
		t.Fatalf("batches %d, instances created %d (pool of 2)", st.Batches, st.InstancesCreated)
	}
}

// TestPlugin_Process_HostileGuests runs each misbehaving guest: the batch
// fails twice (pooled and fresh instance), Process returns a BatchError
// naming the cause, and the next good batch succeeds.
func TestPlugin_Process_HostileGuests(t *testing.T) {
	tests := []struct {
		guest   string
		limits  Limits
		payload string
		kind    Fault
		msg     []string
	}{
		{"trap", Limits{}, "panic", FaultTrap, []string{"guest trapped", "panic: guest asked to panic"}},
		{"loop", Limits{BatchTimeout: time.Second}, "loop", FaultTimeout, []string{"time limit of 1s"}},
		{"membomb", Limits{MemoryPages: 512}, "bomb", FaultMemory, []string{"out of memory", "limit 512 pages"}},
		{"garbage", Limits{}, "garbage", FaultInvalidOutput, []string{"invalid output frame", "unsupported version"}},
		{"garbage", Limits{}, "outside", FaultInvalidOutput, []string{"outside guest memory"}},
		{"garbage", Limits{}, "index", FaultInvalidOutput, []string{"input index 2 out of range (batch has 2 inputs)"}},
	}
	for _, tt := range tests {
		t.Run(tt.guest+"/"+tt.payload, func(t *testing.T) {
			p, _ := loadGuest(t, tt.guest, Options{Limits: tt.limits, Instances: 1})
			ctx := context.Background()
			if _, err := p.Process(ctx, recs("ok"), nil); err != nil {
				t.Fatalf("good batch before: %v", err)
			}
			prev := []abi.Output{{Kind: abi.KindDrop}}
			out, err := p.Process(ctx, recs("ok", tt.payload), prev)
			var be *BatchError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a *BatchError", err)
			}
			if be.Plugin != tt.guest || be.Kind != tt.kind {
				t.Fatalf("BatchError plugin %q kind %s, want %q %s (%v)", be.Plugin, be.Kind, tt.guest, tt.kind, err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if be.Err == nil || errors.Unwrap(err) != be.Err {
				t.Errorf("BatchError does not wrap its cause")
			}
			if len(out) != 1 {
				t.Errorf("out changed on failure: %+v", out)
			}
			out, err = p.Process(ctx, recs("after"), nil)
			if err != nil || len(out) != 1 || string(out[0].Record.Payload) != "after" {
				t.Fatalf("good batch after: %v %+v", err, out)
			}
			st := p.Stats()
			if st.Faults[tt.kind] != 2 || st.FailedBatches != 1 || st.Batches != 2 {
				t.Fatalf("stats = %+v, want 2 %s faults, 1 failed batch", st, tt.kind)
			}
		})
	}
}

func TestPlugin_Process_RetryRecovers(t *testing.T) {
	p, logs := loadGuest(t, "trap", Options{Instances: 1})
	ctx := context.Background()
	if _, err := p.Process(ctx, recs("ok"), nil); err != nil {
		t.Fatal(err)
	}
	// The pooled instance has run a batch, so it panics; the fresh one
	// processes the same batch as its first.
	out, err := p.Process(ctx, recs("panic-if-used"), nil)
	if err != nil || len(out) != 1 {
		t.Fatalf("retry did not recover: %v", err)
	}
	st := p.Stats()
	if st.Faults[FaultTrap] != 1 || st.FailedBatches != 0 || st.InstancesCreated != 2 {
		t.Fatalf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "retrying on a fresh instance") {
		t.Fatalf("retry not logged: %s", logs)
	}
}

func TestPlugin_Process_RecordErrors(t *testing.T) {
	p, _ := loadGuest(t, "recorderror", Options{})
	out, err := p.Process(context.Background(), recs("ok", "bad", "drop", "twice", "skip"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind  abi.OutputKind
		input uint32
	}{{abi.KindRecord, 0}, {abi.KindError, 1}, {abi.KindDrop, 2}, {abi.KindRecord, 3}, {abi.KindRecord, 3}}
	if len(out) != len(want) {
		t.Fatalf("got %d outputs, want %d: %+v", len(out), len(want), out)
	}
	for i, w := range want {
		if out[i].Kind != w.kind || out[i].Input != w.input {
			t.Errorf("output %d = %s for input %d, want %s for %d", i, out[i].Kind, out[i].Input, w.kind, w.input)
		}
	}
	if out[1].Err != "bad payload in record 1" {
		t.Errorf("error entry message %q", out[1].Err)
	}
	st := p.Stats()
	if st.RecordsOut != 3 || st.RecordErrors != 1 || st.RecordDrops != 1 || st.FailedBatches != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestPlugin_Process_GuestOutputToLog(t *testing.T) {
	p, logs := loadGuest(t, "stdout", Options{})
	if _, err := p.Process(context.Background(), recs("a", "b"), nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`level=INFO msg="stdout: record k0" plugin=stdout stream=stdout`,
		`level=WARN msg="stderr: record k1" plugin=stdout stream=stderr`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestPlugin_Process_HostFunctions(t *testing.T) {
	p, logs := loadGuest(t, "hostcalls", Options{Config: map[string]string{"prefix": "pre:"}})
	before := time.Now().UnixNano()
	in := recs("a", "b")
	in[1].EventTime, in[1].HasEventTime = 99, true
	out, err := p.Process(context.Background(), in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(out[0].Record.Payload) != "pre:a" || string(out[1].Record.Payload) != "pre:b" {
		t.Fatalf("payloads %q %q", out[0].Record.Payload, out[1].Record.Payload)
	}
	if !out[0].Record.HasEventTime || out[0].Record.EventTime < before || out[0].Record.EventTime > time.Now().UnixNano() {
		t.Fatalf("clock_now_v1 stamp %d not within the call", out[0].Record.EventTime)
	}
	if out[1].Record.EventTime != 99 {
		t.Fatalf("existing event time overwritten: %d", out[1].Record.EventTime)
	}
	if _, err := p.Process(context.Background(), recs("c"), nil); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().Metrics["records"]; got != 3 {
		t.Fatalf("metric records = %d, want 3", got)
	}
	l := logs.String()
	if !strings.Contains(l, `level=INFO msg="prefix is pre:" plugin=hostcalls`) || !strings.Contains(l, `level=DEBUG msg="batch done"`) {
		t.Fatalf("guest logs missing:\n%s", l)
	}
	if strings.Contains(l, "ERROR") {
		t.Fatalf("guest reported a host function problem:\n%s", l)
	}
}

func TestPlugin_Process_Recycling(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		want   uint64 // recycled after 5 batches
	}{
		{"max batches", Limits{MaxBatchesPerInstance: 2}, 2},
		{"memory high water", Limits{MemoryHighWater: 1}, 5},
		{"none", Limits{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := loadGuest(t, "noop", Options{Limits: tt.limits, Instances: 1})
			for range 5 {
				if _, err := p.Process(context.Background(), recs("x"), nil); err != nil {
					t.Fatal(err)
				}
			}
			st := p.Stats()
			if st.InstancesRecycled != tt.want || st.Batches != 5 {
				t.Fatalf("recycled %d, want %d (stats %+v)", st.InstancesRecycled, tt.want, st)
			}
		})
	}
}

func TestPlugin_Process_CanceledContext(t *testing.T) {
	p, _ := loadGuest(t, "loop", Options{Instances: 1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := p.Process(ctx, recs("loop"), nil)
	var be *BatchError
	if !errors.Is(err, context.Canceled) || errors.As(err, &be) {
		t.Fatalf("err = %v, want context.Canceled and no BatchError", err)
	}
	if st := p.Stats(); st.FailedBatches != 0 || len(st.Faults) != 0 {
		t.Fatalf("cancellation counted as a fault: %+v", st)
	}
	if _, err := p.Process(context.Background(), recs("ok"), nil); err != nil {
		t.Fatalf("plugin broken after cancellation: %v", err)
	}
}

func TestPlugin_Close_ThenProcessFails(t *testing.T) {
	p, _ := loadGuest(t, "noop", Options{Instances: 2})
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.Process(context.Background(), recs("x"), nil); !errors.Is(err, errClosed) {
		t.Fatalf("Process after Close: %v", err)
	}
}

func TestLoad_Refused(t *testing.T) {
	tests := []struct {
		name, guest string
		o           Options
		want        []string
	}{
		{"wrong version", "wrongversion", Options{}, []string{"guest ABI version 2.0 is not compatible with host ABI version 1.1"}},
		{"forbidden import", "forbiddenimport", Options{}, []string{"import wasi_snapshot_preview1.sock_accept is not allowed", "network"}},
		{"init error", "initerror", Options{Config: map[string]string{"fail": "no database"}}, []string{"init failed: init refused: no database"}},
		{"unknown runtime", "noop", Options{Runtime: "wasmer"}, []string{`unknown runtime "wasmer" (available: wazero`}},
		{"minimum memory over limit", "noop", Options{Limits: Limits{MemoryPages: 10}}, []string{"load plugin noop: the module's memory starts at 33 pages (2112 KiB), over the memory limit of 10 pages (640 KiB)"}},
		{"empty module", "noop", Options{Wasm: []byte("\x00asm\x01\x00\x00\x00")}, []string{"missing exports", "no exported memory"}},
		{"not wasm", "noop", Options{Wasm: []byte("not wasm")}, []string{`the module is a text file starting "not wasm", not a WebAssembly module`}},
		{"elf", "noop", Options{Wasm: []byte("\x7fELF\x02\x01\x01\x00")}, []string{"an ELF executable"}},
		{"empty file", "noop", Options{Wasm: []byte{}}, []string{"an empty file"}},
		{"missing file", "noop", Options{Path: "/nonexistent/x.wasm"}, []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			if o.Wasm == nil && o.Path == "" {
				o.Wasm = guest(t, tt.guest)
			}
			o.Name, o.CacheDir = tt.guest, testCacheDir
			p, err := Load(context.Background(), o)
			if err == nil {
				p.Close(context.Background())
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoad_NoSource(t *testing.T) {
	if _, err := Load(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "neither Path nor Wasm") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoad_PathNamesPlugin(t *testing.T) {
	path := guestPath(t, "initerror")
	p, _ := loadGuest(t, "", Options{Path: path})
	info := p.Info()
	if !strings.HasPrefix(info.Name, "initerror-") || info.Runtime != "wazero" || info.ABI != "1.1" ||
		info.ABIVersion != abi.Version || !info.Loadable || info.What != "conveyor transform plugin, ABI 1.1" {
		t.Fatalf("info = %+v", info)
	}
	if info.Size == 0 || info.MemoryMinPages == 0 || len(info.Imports) == 0 {
		t.Fatalf("info = %+v", info)
	}
	for _, imp := range info.Imports {
		if !imp.Allowed || imp.Module != "wasi_snapshot_preview1" {
			t.Errorf("import %+v", imp)
		}
	}
}

func TestLoad_DefaultInstances(t *testing.T) {
	p, _ := loadGuest(t, "noop", Options{})
	if p.pool.size() != runtime.GOMAXPROCS(0) {
		t.Fatalf("pool size %d, want GOMAXPROCS %d", p.pool.size(), runtime.GOMAXPROCS(0))
	}
}

func TestPlugin_ProcessBatch_ReusesMemory(t *testing.T) {
	p, _ := loadGuest(t, "noop", Options{Instances: 1})
	ctx := context.Background()
	var b Batch
	in := recs("first", "second")
	in[0].Metadata = []abi.KV{{Key: []byte("m"), Value: []byte("v")}}
	if err := p.ProcessBatch(ctx, in, &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Outputs) != 2 || string(b.Outputs[1].Record.Payload) != "second" || string(b.Outputs[0].Record.Metadata[0].Value) != "v" {
		t.Fatalf("outputs = %+v", b.Outputs)
	}
	frame, kvs := &b.frame[0], &b.kvs[:1][0]
	if err := p.ProcessBatch(ctx, in, &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Outputs) != 2 || &b.frame[0] != frame || &b.kvs[:1][0] != kvs {
		t.Fatal("second batch did not reuse the frame and metadata buffers")
	}
	if string(b.Outputs[0].Record.Payload) != "first" {
		t.Fatalf("outputs after reuse = %+v", b.Outputs)
	}
}

func TestPlugin_ProcessBatch_Fault(t *testing.T) {
	p, _ := loadGuest(t, "trap", Options{Instances: 1})
	var b Batch
	if err := p.ProcessBatch(context.Background(), recs("ok"), &b); err != nil {
		t.Fatal(err)
	}
	err := p.ProcessBatch(context.Background(), recs("panic"), &b)
	var be *BatchError
	if !errors.As(err, &be) || be.Kind != FaultTrap || len(b.Outputs) != 0 {
		t.Fatalf("err = %v, outputs %d", err, len(b.Outputs))
	}
	if err := p.ProcessBatch(context.Background(), recs("ok"), &b); err != nil || len(b.Outputs) != 1 {
		t.Fatalf("after fault: %v", err)
	}
}

func TestLoad_WasmtimeNotCompiledIn(t *testing.T) {
	if slices.Contains(Runtimes(), "wasmtime") {
		t.Skip("built with -tags wasmtime")
	}
	_, err := Load(context.Background(), Options{Wasm: guest(t, "noop"), Runtime: "wasmtime"})
	if err == nil || !strings.Contains(err.Error(), "runtime wasmtime is not compiled into this binary") || !strings.Contains(err.Error(), "-tags wasmtime") {
		t.Fatalf("err = %v", err)
	}
}

func TestKnownRuntimes_IncludesEveryRuntime(t *testing.T) {
	t.Parallel()
	known := KnownRuntimes()
	if known[0] != DefaultRuntime || !slices.Contains(known, "wasmtime") {
		t.Fatalf("KnownRuntimes() = %v, want %s first and wasmtime", known, DefaultRuntime)
	}
	for _, rt := range Runtimes() {
		if !slices.Contains(known, rt) {
			t.Errorf("compiled-in runtime %q not in KnownRuntimes() = %v", rt, known)
		}
	}
}
