//go:build linux

package wazerort

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapMemory reserves the maximum size of a linear memory up front as an
// anonymous, lazily committed mapping; growing only extends the slice, so
// the memory never moves and untouched pages cost no RSS.
type mmapMemory struct{ buf []byte }

func mmapAllocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(cap, max uint64) experimental.LinearMemory {
		if max == 0 || max > 1<<32 {
			return &heapMemory{max: max}
		}
		buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		if err != nil {
			return &heapMemory{max: max} // address space exhausted: fall back
		}
		return &mmapMemory{buf: buf}
	})
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.buf == nil || size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size]
}

func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}
