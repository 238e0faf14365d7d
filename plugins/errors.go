package plugins

import "fmt"

// Fault is the kind of failure that lost a batch.
type Fault uint8

// Faults. Each is counted in Stats.Faults.
const (
	// FaultTrap: the guest trapped or exited (a panic in a Go guest).
	FaultTrap Fault = iota + 1
	// FaultTimeout: the batch ran past Limits.BatchTimeout.
	FaultTimeout
	// FaultMemory: the guest ran out of memory under Limits.MemoryPages.
	FaultMemory
	// FaultInvalidOutput: the guest returned a pointer outside its memory
	// or an output frame that does not decode.
	FaultInvalidOutput
	// FaultInit: a fresh instance could not be created or initialised.
	FaultInit
	// FaultStack: the guest overflowed its call stack (unbounded
	// recursion). See ABI.md section 8 for what that costs the host.
	FaultStack

	numFaults = iota + 1
)

// String returns "trap", "timeout", "memory", "invalid-output", "init" or
// "stack".
func (f Fault) String() string {
	switch f {
	case FaultTrap:
		return "trap"
	case FaultTimeout:
		return "timeout"
	case FaultMemory:
		return "memory"
	case FaultInvalidOutput:
		return "invalid-output"
	case FaultInit:
		return "init"
	case FaultStack:
		return "stack"
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// BatchError is returned by Plugin.Process when a batch failed on two
// instances in a row. The engine fails or dead-letters the whole batch; the
// plugin itself keeps working with fresh instances.
type BatchError struct {
	// Plugin is the plugin's name.
	Plugin string
	// Kind is what went wrong the last time.
	Kind Fault
	// Message describes the failure, including the tail of the guest's
	// stderr when it wrote any.
	Message string
	// Err is the underlying cause.
	Err error
}

// Error implements error.
func (e *BatchError) Error() string {
	return fmt.Sprintf("plugin %s: batch failed (%s): %s", e.Plugin, e.Kind, e.Message)
}

// Unwrap returns the cause.
func (e *BatchError) Unwrap() error { return e.Err }
