package engine

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary pipeline files to Parse and Compile: they may
// reject them, but must never panic, and every error they report must carry
// the file's name (a position in the user's file).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		validPipeline,
		fanOutPipeline,
		"id: x\n",
		"{}",
		"[1, 2]",
		"id: p\nstages: [{id: a, type: fan_in, fan_in: {sources: [{source_name: a}]}}]\nedges: [{from: a, to: a}]\n",
		"id: p\nsources: [{name: s, type: generate, event_time: {expression: 'record.payload.ts'}}]\n",
		"id: &a p\nname: *a\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("parse error without the file name: %v", err)
			}
			return
		}
		if _, err := p.Compile(); err != nil && !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("compile error without the file name: %v", err)
		}
	})
}
