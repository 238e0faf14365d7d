package wazerort

import "testing"

func TestHeapMemory_Reallocate_GrowsAndKeeps(t *testing.T) {
	m := &heapMemory{max: 1 << 20}
	b := m.Reallocate(16)
	copy(b, "hello")
	b = m.Reallocate(1 << 16)
	if len(b) != 1<<16 || string(b[:5]) != "hello" {
		t.Fatalf("grow lost data or size: %d %q", len(b), b[:5])
	}
	if cap(b) > 1<<20 {
		t.Fatalf("capacity %d beyond max", cap(b))
	}
	if m.Reallocate(1<<20+1) != nil {
		t.Fatal("grew past max")
	}
	m.Free()
	if m.buf != nil {
		t.Fatal("Free kept the buffer")
	}
}
