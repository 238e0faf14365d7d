//go:build linux

package wazerort

import (
	"testing"
	"unsafe"
)

func TestMmapMemory_Reallocate_NeverMoves(t *testing.T) {
	lm := mmapAllocator().Allocate(0, 1<<24)
	defer lm.Free()
	b := lm.Reallocate(1 << 16)
	copy(b, "hello")
	base := unsafe.Pointer(&b[0])
	b = lm.Reallocate(1 << 24)
	if len(b) != 1<<24 || unsafe.Pointer(&b[0]) != base || string(b[:5]) != "hello" {
		t.Fatal("growing moved or lost the memory")
	}
	if lm.Reallocate(1<<24+1) != nil {
		t.Fatal("grew past max")
	}
}

func TestMmapAllocator_NoMaxFallsBackToHeap(t *testing.T) {
	if _, ok := mmapAllocator().Allocate(0, 0).(*heapMemory); !ok {
		t.Fatal("unbounded memory not heap-backed")
	}
}
