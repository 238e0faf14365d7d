// Command conformance is the Go conformance guest: one module whose
// behaviour is chosen by the config key "mode", as plugins/conformance/
// README.md specifies, built with the Go SDK.
package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

var (
	mode  string
	parts = 3
	sink  int      // keeps loops and recursion from being optimised away
	keep  [][]byte // memory the grow mode holds on to
)

func init() {
	conveyor.OnInit(func() error {
		mode, _ = conveyor.Config("mode")
		if mode == "" {
			mode = "echo"
		}
		switch mode {
		case "echo", "drop", "split", "rewrite", "error_odd", "mixed", "trap", "loop", "grow", "stack",
			"log", "logflood", "counter", "config":
		default:
			return errors.New("unknown mode " + strconv.Quote(mode))
		}
		if v, ok := conveyor.Config("n"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errors.New("n: want a non-negative integer")
			}
			parts = n
		}
		return nil
	})
	conveyor.RegisterTransform(transform)
	conveyor.RegisterLookup(lookup)
}

func transform(r conveyor.Record, out conveyor.Emitter) error {
	switch mode {
	case "drop":
	case "split":
		for i := range parts {
			c := r
			c.Metadata = append(append(conveyor.Metadata(nil), r.Metadata...), conveyor.KV{Key: "part", Value: strconv.Itoa(i)})
			out.Emit(c)
		}
	case "rewrite":
		c := r
		c.Key = "k-" + r.Key
		c.Metadata = append(append(conveyor.Metadata(nil), r.Metadata...), conveyor.KV{Key: "seen", Value: "1"})
		if !r.EventTime.IsZero() {
			c.EventTime = r.EventTime.Add(1000 * time.Nanosecond)
		}
		out.Emit(c)
	case "error_odd":
		if r.Index%2 == 1 {
			return errors.New("odd record")
		}
		out.Emit(r)
	case "mixed":
		// The SDK discards what a failing transform emitted, so the host
		// sees only the error entry: the same outcome ABI.md 6.5 specifies
		// for a record entry followed by an error entry.
		out.Emit(r)
		return errors.New("mixed")
	case "trap":
		trap()
	case "loop":
		for {
			sink++
		}
	case "grow":
		for {
			keep = append(keep, make([]byte, 64<<10))
		}
	case "stack":
		sink += recurse(0)
	case "log":
		conveyor.Log(conveyor.LevelInfo, string(r.Payload))
		out.Emit(r)
	case "logflood":
		if r.Index == 0 {
			for range 10000 {
				conveyor.Log(conveyor.LevelInfo, "flood")
			}
		}
		out.Emit(r)
	case "counter":
		conveyor.Counter("records", 1)
		out.Emit(r)
	case "config":
		v, ok := conveyor.Config("value")
		payload := `{"value":null,"present":false}`
		if ok {
			payload = `{"value":` + strconv.Quote(v) + `,"present":true}`
		}
		out.Emit(conveyor.Record{Key: r.Key, Payload: []byte(payload)})
	default: // echo
		out.Emit(r)
	}
	return nil
}

// trap ends the instance the way an unrecovered Go panic does: the SDK
// recovers panics in the transform itself, so this one happens on another
// goroutine, which the Go runtime turns into a fatal exit.
func trap() {
	os.Stderr.WriteString("conformance: trap mode\n")
	done := make(chan struct{})
	go func() { panic("trap mode") }()
	<-done
}

//go:noinline
func recurse(n int) int {
	var frame [64]byte
	frame[n%64] = byte(n)
	return recurse(n+1) + int(frame[(n+1)%64])
}

func lookup(key []byte) ([]byte, bool) {
	k := string(key)
	if !strings.HasPrefix(k, "hit-") {
		return nil, false
	}
	return []byte(`{"key":"` + k + `","n":` + strconv.Itoa(len(k)) + `}`), true
}

func main() {}
