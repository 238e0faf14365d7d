package plugins

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// benchBatch returns n records of ~200 B: a key, a JSON payload of ~170 B
// and two metadata attributes.
func benchBatch(n int) []abi.Record {
	recs := make([]abi.Record, n)
	for i := range recs {
		recs[i] = abi.Record{
			Key:       fmt.Appendf(nil, "key-%06d", i),
			Payload:   fmt.Appendf(nil, `{"id":%d,"user":"user-%04d","msg":"%s"}`, i, i%1000, strings.Repeat("x", 130)),
			Metadata:  []abi.KV{{Key: []byte("src"), Value: []byte("bench")}, {Key: []byte("p"), Value: []byte("0")}},
			EventTime: int64(i), HasEventTime: true,
		}
	}
	return recs
}

// limitModes are the ways a guest can be stopped, compared by the
// benchmarks: "fuel" is the default (a 10 s limit, fuel-instrumented
// module), "close-on-done" the previous default (wazero's
// WithCloseOnContextDone, no fuel), "no-limit" neither (a guest that cannot
// be stopped: the floor).
var limitModes = []struct {
	name    string
	timeout time.Duration
	noFuel  bool
}{{"fuel", 0, false}, {"close-on-done", 0, true}, {"no-limit", -1, true}}

func loadBench(b *testing.B, g string, timeout time.Duration, noFuel bool) *Plugin {
	b.Helper()
	ctx := context.Background()
	p, err := load(ctx, Options{Name: g, Wasm: guest(b, g), CacheDir: testCacheDir, Instances: 1,
		Limits: Limits{BatchTimeout: timeout}}, func(c *wasmrt.Config) { c.NoFuel = noFuel })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(ctx) })
	return p
}

// BenchmarkProcess measures a whole batch of 256 records of ~200 B through
// a guest: encode into guest memory, call, copy out and decode. "noop"
// decodes and re-encodes in the guest (Go, abi package); "passthrough"
// copies record bytes without decoding, so its time is almost all host
// overhead. The second level is the limit mode (limitModes). "/batch" uses
// ProcessBatch, which reuses the output buffers.
func BenchmarkProcess(b *testing.B) {
	for _, g := range []string{"passthrough", "noop"} {
		for _, limit := range limitModes {
			for _, reuse := range []bool{false, true} {
				name := g + "/" + limit.name
				if reuse {
					name += "/batch"
				}
				b.Run(name, func(b *testing.B) {
					p := loadBench(b, g, limit.timeout, limit.noFuel)
					in := benchBatch(256)
					out := make([]abi.Output, 0, 256)
					ctx := context.Background()
					b.SetBytes(int64(abi.InputBatchSize(in)))
					b.ReportAllocs()
					var batch Batch
					cpu0 := cpuTime()
					for b.Loop() {
						var err error
						if reuse {
							err = p.ProcessBatch(ctx, in, &batch)
						} else {
							out, err = p.Process(ctx, in, out[:0])
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					records := float64(b.N * len(in))
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
					// CPU time of the whole process (all threads, GC included) is
					// steadier than wall time on a shared machine.
					b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/records, "cpu-ns/record")
				})
			}
		}
	}
}

// BenchmarkGuestCall measures only the conveyor_process call on a batch
// already in guest memory: the guest's share of BenchmarkProcess. Host
// overhead is BenchmarkProcess minus this.
func BenchmarkGuestCall(b *testing.B) {
	for _, g := range []string{"passthrough", "noop"} {
		for _, limit := range limitModes {
			b.Run(g+"/"+limit.name, func(b *testing.B) {
				p := loadBench(b, g, limit.timeout, limit.noFuel)
				ctx := context.Background()
				in := benchBatch(256)
				inst, err := p.pool.acquire(ctx)
				if err != nil || inst == nil {
					b.Fatal("no instance", err)
				}
				defer p.pool.release(inst)
				size := abi.InputBatchSize(in)
				ptr, err := inst.allocate(ctx, size)
				if err != nil {
					b.Fatal(err)
				}
				abi.AppendInputBatch(inst.rt.Memory()[ptr:ptr], in)
				cpu0 := cpuTime()
				for b.Loop() {
					inst.stack[0], inst.stack[1] = uint64(ptr), uint64(size)
					if err := inst.proc.Call(ctx, inst.stack); err != nil {
						b.Fatal(err)
					}
				}
				records := float64(b.N * len(in))
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/records, "cpu-ns/record")
			})
		}
	}
}

// BenchmarkLoad measures plugin start: runtime, compile, instantiate,
// _initialize, init. "cache" compiles from the warm on-disk cache (the
// normal case after the first run on a machine); "no-cache" compiles from
// scratch (run it with -benchtime 3x: it is slow).
func BenchmarkLoad(b *testing.B) {
	wasm := guest(b, "noop")
	for _, c := range []struct{ name, dir string }{{"cache", testCacheDir}, {"no-cache", "off"}} {
		b.Run(c.name, func(b *testing.B) {
			o := Options{Wasm: wasm, CacheDir: c.dir, Instances: 1}
			p, err := Load(context.Background(), o) // warm the cache
			if err != nil {
				b.Fatal(err)
			}
			p.Close(context.Background())
			for b.Loop() {
				p, err := Load(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				p.Close(context.Background())
			}
		})
	}
}

// BenchmarkInstance measures creating one more instance of a loaded plugin
// and the resident memory it adds, with mmap-backed and Go-heap memory.
func BenchmarkInstance(b *testing.B) {
	for _, heap := range []bool{false, true} {
		name := "mmap"
		if heap {
			name = "heap"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			p, err := load(ctx, Options{Wasm: guest(b, "noop"), CacheDir: testCacheDir, Instances: 1},
				func(c *wasmrt.Config) { c.HeapMemory = heap })
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			var insts []*instance
			before := rssKiB(b)
			for b.Loop() {
				inst, err := p.newInstance(ctx)
				if err != nil {
					b.Fatal(err)
				}
				insts = append(insts, inst)
			}
			after := rssKiB(b)
			b.ReportMetric(float64(after-before)/float64(len(insts)), "RSS-KiB/instance")
			for _, inst := range insts {
				p.discard(inst)
			}
		})
	}
}

// rssKiB reads the process's resident set size (Linux only).
func rssKiB(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkRuntime compares the runtimes compiled in (build with -tags
// wasmtime for both): host overhead on the passthrough guest, the noop Go
// guest with and without interruption, compiling without and with the
// cache, and starting one more instance.
func BenchmarkRuntime(b *testing.B) {
	for _, rt := range Runtimes() {
		for _, g := range []string{"passthrough", "noop"} {
			for _, limit := range []struct {
				name    string
				timeout time.Duration
				noFuel  bool
			}{{"limit", 0, false}, {"no-limit", -1, true}} {
				b.Run(rt+"/process/"+g+"/"+limit.name, func(b *testing.B) {
					ctx := context.Background()
					p, err := load(ctx, Options{Name: g, Wasm: guest(b, g), Runtime: rt, CacheDir: testCacheDir, Instances: 1,
						Limits: Limits{BatchTimeout: limit.timeout}}, func(c *wasmrt.Config) { c.NoFuel = limit.noFuel })
					if err != nil {
						b.Fatal(err)
					}
					defer p.Close(ctx)
					in := benchBatch(256)
					var batch Batch
					cpu0 := cpuTime()
					for b.Loop() {
						if err := p.ProcessBatch(ctx, in, &batch); err != nil {
							b.Fatal(err)
						}
					}
					records := float64(b.N * len(in))
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
					b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/records, "cpu-ns/record")
				})
			}
		}
		wasm := guest(b, "noop")
		for _, c := range []struct{ name, dir string }{{"cache", filepath.Join(testCacheDir, "bench-"+rt)}, {"no-cache", "off"}} {
			b.Run(rt+"/load/"+c.name, func(b *testing.B) {
				o := Options{Wasm: wasm, Runtime: rt, CacheDir: c.dir, Instances: 1}
				if p, err := Load(context.Background(), o); err == nil { // warm the cache
					p.Close(context.Background())
				}
				for b.Loop() {
					p, err := Load(context.Background(), o)
					if err != nil {
						b.Fatal(err)
					}
					p.Close(context.Background())
				}
			})
		}
		b.Run(rt+"/instance", func(b *testing.B) {
			ctx := context.Background()
			p, err := Load(ctx, Options{Wasm: wasm, Runtime: rt, CacheDir: testCacheDir, Instances: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			var insts []*instance
			before := rssKiB(b)
			for b.Loop() {
				inst, err := p.newInstance(ctx)
				if err != nil {
					b.Fatal(err)
				}
				insts = append(insts, inst)
			}
			b.ReportMetric(float64(rssKiB(b)-before)/float64(len(insts)), "RSS-KiB/instance")
			for _, inst := range insts {
				p.discard(inst)
			}
		})
	}
}

// BenchmarkLookup measures lookups of 256 keys per batch through the
// user-tier example (a Go map in the guest), on every runtime compiled in.
func BenchmarkLookup(b *testing.B) {
	path, err := plugintest.Build(filepath.Join("..", "examples", "plugins", "user-tier"))
	if err != nil {
		b.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 256)
	for i := range keys {
		keys[i] = []byte([]string{"u1", "u2", "u3", "nobody"}[i%4])
	}
	for _, rt := range Runtimes() {
		b.Run(rt, func(b *testing.B) {
			ctx := context.Background()
			p, err := Load(ctx, Options{Wasm: wasm, Runtime: rt, CacheDir: testCacheDir, Instances: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(ctx)
			var res []LookupResult
			cpu0 := cpuTime()
			for b.Loop() {
				if res, err = p.Lookup(ctx, keys, res[:0]); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N * len(keys))
			b.ReportMetric(n/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/n, "cpu-ns/key")
		})
	}
}
