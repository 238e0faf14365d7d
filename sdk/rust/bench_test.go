package rust_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// benchBatch runs batches of in through a plugin and reports ns/record.
func benchBatch(b *testing.B, path string, cfg map[string]string, timeout time.Duration, in []abi.Record) {
	p, err := plugins.Load(context.Background(), plugins.Options{
		Path: path, Config: cfg, Instances: 1, CacheDir: cacheDir,
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
func BenchmarkEcho_Process(b *testing.B) {
	path := build(b, "conformance/src/lib.rs")
	in := make([]abi.Record, 256)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "key-%04d", i), Payload: bytes.Repeat([]byte("x"), 200)}
	}
	for _, bc := range []struct {
		name    string
		timeout time.Duration
	}{{"timeout=10s", 0}, {"no-timeout", -1}} {
		b.Run(bc.name, func(b *testing.B) { benchBatch(b, path, map[string]string{"mode": "echo"}, bc.timeout, in) })
	}
}

// BenchmarkPIIRedactor_Process: this SDK's redactor and the Go one on the
// same batch of 256 customer events, two fields redacted per record.
func BenchmarkPIIRedactor_Process(b *testing.B) {
	in := make([]abi.Record, 256)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "c%d", i), Payload: fmt.Appendf(nil,
			`{"customer_id":%d,"email":"user%d@example.com","phone":"+1 555 %04d","address":{"street":"%d Main St","city":"Springfield"},"total":%d.50,"items":[1,2,3]}`,
			i, i, i, i, i)}
	}
	cfg := map[string]string{"fields": "email,phone,address.street"}
	b.Run("rust", func(b *testing.B) { benchBatch(b, build(b, "examples/pii-redactor/src/lib.rs"), cfg, -1, in) })
	b.Run("go", func(b *testing.B) {
		benchBatch(b, plugintest.BuildGo(b, "../../examples/plugins/pii-redactor"), cfg, -1, in)
	})
}

// BenchmarkLookup: the conformance guest's lookup, batches of 256 keys,
// half hits.
func BenchmarkLookup(b *testing.B) {
	p, err := plugins.Load(context.Background(), plugins.Options{
		Path: build(b, "conformance/src/lib.rs"), Instances: 1, CacheDir: cacheDir, Limits: plugins.Limits{BatchTimeout: -1},
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
