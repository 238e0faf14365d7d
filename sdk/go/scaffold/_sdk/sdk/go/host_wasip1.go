//go:build wasip1

package conveyor

import "unsafe"

// Host functions of ABI v1, imported from module "conveyor" (abi.ImportModule).

//go:wasmimport conveyor log_v1
func importLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport conveyor config_get_v1
func importConfigGet(keyPtr unsafe.Pointer, keyLen uint32, outPtr unsafe.Pointer, outCap uint32) int32

//go:wasmimport conveyor clock_now_v1
func importClockNow() int64

//go:wasmimport conveyor metric_add_v1
func importMetricAdd(namePtr unsafe.Pointer, nameLen uint32, delta int64)

func hostLog(level Level, msg string) {
	importLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func hostConfig(key string) (string, bool) {
	buf := make([]byte, 64)
	for {
		n := importConfigGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
			unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
		switch {
		case n < 0:
			return "", false
		case int(n) <= len(buf):
			return string(buf[:n]), true
		}
		buf = make([]byte, n) // too small: the host wrote nothing; ask again
	}
}

func hostNow() int64 { return importClockNow() }

func hostMetricAdd(name string, delta int64) {
	importMetricAdd(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), delta)
}
