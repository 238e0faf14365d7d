//go:build !unix

package connectors

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
