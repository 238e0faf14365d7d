//go:build !unix

package plugins

import "os"

// privateDir creates dir when missing; permissions are not checked here.
func privateDir(dir string) bool { return os.MkdirAll(dir, 0o700) == nil }
