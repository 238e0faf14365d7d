// Command sdkguest exercises every SDK feature through a real host for the
// end-to-end tests in examples/plugins: the behaviour is chosen by the input
// record's key.
package main

import (
	"errors"
	"strconv"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

// fromInit is read during _initialize, before conveyor_init, through
// config_get_v1.
var fromInit, _ = conveyor.Config("greeting")

func init() {
	conveyor.OnInit(func() error {
		if v, _ := conveyor.Config("fail_init"); v != "" {
			return errors.New(v)
		}
		return nil
	})
	conveyor.RegisterTransform(transform)
}

func main() {}

func transform(r conveyor.Record, out conveyor.Emitter) error {
	switch r.Key {
	case "drop":
		return nil
	case "error":
		out.Emit(r) // discarded: the record fails
		return errors.New("record rejected")
	case "panic":
		out.Emit(r) // discarded too
		var s []int
		_ = s[len(r.Payload)]
	case "split":
		n, _ := strconv.Atoi(string(r.Payload))
		for i := range n {
			out.Emit(conveyor.Record{Key: r.Key + strconv.Itoa(i), Payload: r.Payload, EventTime: r.EventTime})
		}
		return nil
	case "config":
		v, _ := conveyor.Config("greeting")
		r.Payload = []byte(fromInit + "|" + v)
	case "log":
		conveyor.Log(conveyor.LevelWarn, "hello from the guest", "key", r.Key)
		conveyor.Counter("logged", 1)
	case "now":
		r.Payload = strconv.AppendInt(nil, conveyor.Now().UnixNano(), 10)
	}
	r.Metadata.Set("seen", "yes")
	out.Emit(r)
	return nil
}
