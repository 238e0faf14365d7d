package plugintest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLogBuffer_ConcurrentWrites(t *testing.T) {
	var l LogBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				fmt.Fprintf(&l, "%d-%d\n", i, j)
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(l.String(), "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
}
