package plugintest_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// Build a Go guest from source; the second call is served from the cache.
func ExampleBuild() {
	path, err := plugintest.Build("../testdata/guests/noop")
	if err != nil {
		panic(err)
	}
	again, _ := plugintest.Build("../testdata/guests/noop")
	wasm, _ := os.ReadFile(path)
	fmt.Println(filepath.Ext(path), path == again, string(wasm[1:4]))
	// Output: .wasm true asm
}
