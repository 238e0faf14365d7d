package plugins

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// testCacheDir keeps compiled guests between test runs.
var testCacheDir = filepath.Join(os.TempDir(), "conveyor-wasm-test-cache")

// guest builds the test guest testdata/guests/<name> and returns its bytes.
func guest(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(plugintest.BuildGo(tb, filepath.Join("testdata", "guests", name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// loadGuest loads the named test guest with o (Wasm, CacheDir, Logger and Name
// filled in when empty), closes it at cleanup, and returns the log sink.
func loadGuest(tb testing.TB, name string, o Options) (*Plugin, *plugintest.LogBuffer) {
	tb.Helper()
	logs := &plugintest.LogBuffer{}
	if o.Wasm == nil && o.Path == "" {
		o.Wasm = guest(tb, name)
	}
	if o.Name == "" {
		o.Name = name
	}
	if o.CacheDir == "" {
		o.CacheDir = testCacheDir
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := Load(context.Background(), o)
	if err != nil {
		tb.Fatalf("Load(%s): %v", name, err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	return p, logs
}

// recs returns one record per payload, keyed k0, k1, ...
func recs(payloads ...string) []abi.Record {
	out := make([]abi.Record, len(payloads))
	for i, p := range payloads {
		out[i] = abi.Record{Key: []byte{'k', byte('0' + i)}, Payload: []byte(p)}
	}
	return out
}

// guestPath builds the named test guest and returns its path.
func guestPath(tb testing.TB, name string) string {
	tb.Helper()
	return plugintest.BuildGo(tb, filepath.Join("testdata", "guests", name))
}
