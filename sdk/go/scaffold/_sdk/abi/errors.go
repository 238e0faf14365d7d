package abi

import "strconv"

// FrameError reports a malformed frame: the byte offset where decoding
// stopped and why. Decoders return it wrapped with %w; use errors.As.
type FrameError struct {
	// Frame names the frame being decoded: "config", "input batch" or
	// "output batch".
	Frame string
	// Offset is the byte offset in the frame at which the problem was found.
	Offset int
	// Reason describes the problem, e.g. "truncated key".
	Reason string
}

// Error implements error.
func (e *FrameError) Error() string {
	return "abi: " + e.Frame + " frame: offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}
