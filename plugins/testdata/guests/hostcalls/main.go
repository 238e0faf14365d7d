// Command hostcalls is a test guest that uses every conveyor host function:
// at init it reads the config key "prefix" with config_get_v1 (starting
// with a too-small buffer) and logs it; per batch it adds the record count
// to the metric "records", stamps records without an event time with
// clock_now_v1 and prefixes each payload.
package main

import (
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/testdata/guests/internal/rawabi"
)

//go:wasmimport conveyor log_v1
func logV1(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport conveyor config_get_v1
func configGetV1(keyPtr unsafe.Pointer, keyLen int32, outPtr unsafe.Pointer, outCap int32) int32

//go:wasmimport conveyor clock_now_v1
func clockNowV1() int64

//go:wasmimport conveyor metric_add_v1
func metricAddV1(namePtr unsafe.Pointer, nameLen int32, delta int64)

func str(s string) (unsafe.Pointer, int32) {
	return unsafe.Pointer(unsafe.StringData(s)), int32(len(s))
}

func configGet(key string) (string, bool) {
	buf := make([]byte, 2)
	for {
		kp, kl := str(key)
		n := configGetV1(kp, kl, unsafe.Pointer(&buf[0]), int32(len(buf)))
		if n < 0 {
			return "", false
		}
		if int(n) <= len(buf) {
			return string(buf[:n]), true
		}
		buf = make([]byte, n)
	}
}

func logf(level int32, msg string) {
	p, n := str(msg)
	logV1(level, p, n)
}

var prefix string

func init() {
	rawabi.Init = func(cfg map[string]string) error {
		v, ok := configGet("prefix")
		if _, missing := configGet("no-such-key"); missing {
			logf(abi.LogError, "config_get_v1 found a missing key")
		}
		if !ok || v != cfg["prefix"] {
			logf(abi.LogError, "config_get_v1 and the config frame disagree")
		}
		prefix = v
		logf(abi.LogInfo, "prefix is "+v)
		return nil
	}
	rawabi.Process = func(in []abi.Record, out []abi.Output) []abi.Output {
		np, nl := str("records")
		metricAddV1(np, nl, int64(len(in)))
		now := clockNowV1()
		for i := range in {
			r := in[i]
			if !r.HasEventTime {
				r.EventTime, r.HasEventTime = now, true
			}
			r.Payload = append([]byte(prefix), r.Payload...)
			out = append(out, abi.Output{Kind: abi.KindRecord, Input: uint32(i), Record: r})
		}
		logf(abi.LogDebug, "batch done")
		return out
	}
}

func main() {}
