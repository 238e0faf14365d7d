//go:build cgo && wasmtime

package wasmtimert

import (
	"context"
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/internal/wasmrt"
)

// guestBytes returns the caller's memory [ptr, ptr+n), or a trap.
func guestBytes(c *wasmtime.Caller, fn string, ptr, n uint32) ([]byte, *wasmtime.Trap) {
	if n == 0 {
		return nil, nil
	}
	e := c.GetExport(abi.ExportMemory)
	if e == nil || e.Memory() == nil {
		return nil, wasmtime.NewTrap(fn + ": the guest exports no memory")
	}
	mem := e.Memory().UnsafeData(c)
	end := uint64(ptr) + uint64(n)
	if end > uint64(len(mem)) {
		return nil, wasmtime.NewTrap(fmt.Sprintf("%s: range [%d, %d) is outside guest memory of %d bytes", fn, ptr, end, len(mem)))
	}
	return mem[ptr:end:end], nil
}

func valTypes(kinds ...wasmtime.ValKind) []*wasmtime.ValType {
	out := make([]*wasmtime.ValType, len(kinds))
	for i, k := range kinds {
		out[i] = wasmtime.NewValType(k)
	}
	return out
}

// defineHost defines the conveyor import module on l.
func defineHost(l *wasmtime.Linker, h wasmrt.Host) error {
	i32, i64 := wasmtime.KindI32, wasmtime.KindI64
	defs := []struct {
		name    string
		params  []wasmtime.ValKind
		results []wasmtime.ValKind
		fn      func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)
	}{
		{abi.FuncLog, []wasmtime.ValKind{i32, i32, i32}, nil, func(c *wasmtime.Caller, a []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			msg, trap := guestBytes(c, abi.FuncLog, uint32(a[1].I32()), uint32(a[2].I32()))
			if trap != nil {
				return nil, trap
			}
			h.Log(context.Background(), a[0].I32(), msg)
			return nil, nil
		}},
		{abi.FuncConfigGet, []wasmtime.ValKind{i32, i32, i32, i32}, []wasmtime.ValKind{i32}, func(c *wasmtime.Caller, a []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			key, trap := guestBytes(c, abi.FuncConfigGet, uint32(a[0].I32()), uint32(a[1].I32()))
			if trap != nil {
				return nil, trap
			}
			v, ok := h.ConfigGet(key)
			if !ok {
				return []wasmtime.Val{wasmtime.ValI32(-1)}, nil
			}
			if outCap := uint32(a[3].I32()); uint64(len(v)) <= uint64(outCap) && len(v) > 0 {
				out, trap := guestBytes(c, abi.FuncConfigGet, uint32(a[2].I32()), uint32(len(v)))
				if trap != nil {
					return nil, trap
				}
				copy(out, v)
			}
			return []wasmtime.Val{wasmtime.ValI32(int32(len(v)))}, nil
		}},
		{abi.FuncClockNow, nil, []wasmtime.ValKind{i64}, func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			return []wasmtime.Val{wasmtime.ValI64(h.Now())}, nil
		}},
		{abi.FuncMetricAdd, []wasmtime.ValKind{i32, i32, i64}, nil, func(c *wasmtime.Caller, a []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			name, trap := guestBytes(c, abi.FuncMetricAdd, uint32(a[0].I32()), uint32(a[1].I32()))
			if trap != nil {
				return nil, trap
			}
			h.MetricAdd(name, a[2].I64())
			return nil, nil
		}},
	}
	for _, d := range defs {
		ty := wasmtime.NewFuncType(valTypes(d.params...), valTypes(d.results...))
		if err := l.FuncNew(abi.ImportModule, d.name, ty, d.fn); err != nil {
			return fmt.Errorf("define %s.%s: %w", abi.ImportModule, d.name, err)
		}
	}
	return nil
}
