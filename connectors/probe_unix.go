//go:build unix

package connectors

import "syscall"

// access is access(2): whether this process may use path in mode.
func access(path string, mode uint32) error { return syscall.Access(path, mode) }
