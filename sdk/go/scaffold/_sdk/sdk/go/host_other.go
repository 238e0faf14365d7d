//go:build !wasip1

package conveyor

import (
	"fmt"
	"os"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/sdk/go/internal/hook"
)

// Outside wasip1 the host imports are calls on a replaceable hook.Host, so
// that plugins and the SDK itself can be tested natively. The default host
// logs to stderr, has no configuration, reads the local clock and discards
// counters. Like a Wasm instance, it is not safe for concurrent use.

var host hook.Host = stderrHost{}

func init() {
	hook.SetHost = func(h hook.Host) {
		if h == nil {
			h = stderrHost{}
		}
		host = h
	}
	hook.NewGuest = func() hook.Guest { return &nativeGuest{g: guest{hooks: registered}} }
}

func hostLog(level Level, msg string)        { host.Log(int32(level), msg) }
func hostConfig(key string) (string, bool)   { return host.Config(key) }
func hostNow() int64                         { return host.Now() }
func hostMetricAdd(name string, delta int64) { host.MetricAdd(name, delta) }

// stderrHost is the default native host.
type stderrHost struct{}

func (stderrHost) Log(level int32, msg string) {
	fmt.Fprintf(os.Stderr, "%s %s\n", Level(level), msg)
}
func (stderrHost) Config(string) (string, bool) { return "", false }
func (stderrHost) Now() int64                   { return time.Now().UnixNano() }
func (stderrHost) MetricAdd(string, int64)      {}

// nativeGuest exposes a guest to package conveyortest.
type nativeGuest struct{ g guest }

func (n *nativeGuest) Init(config []byte) error { return n.g.init(config) }

func (n *nativeGuest) Process(batch []byte) ([]byte, error) { return n.g.process(batch) }

func (n *nativeGuest) Close() { n.g.close() }

func (n *nativeGuest) Lookup(req []byte) ([]byte, error) { return n.g.lookupBatch(req) }
