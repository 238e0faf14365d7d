//go:build !linux

package wazerort

import "github.com/tetratelabs/wazero/experimental"

// mmapAllocator returns nil: other platforms keep wazero's heap allocator.
func mmapAllocator() experimental.MemoryAllocator { return nil }
