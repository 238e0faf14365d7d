package c_test

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/sdk/internal/guesttest"
)

// guest is this SDK's guests for the tests every guest SDK shares.
var guest = guesttest.Guest{
	Lang:        "c",
	Build:       build,
	PIIRedactor: "examples/pii-redactor",
	UserTier:    "examples/user-tier",
	Conformance: "conformance",
	CacheDir:    cacheDir,
}

func TestFrames_Strict(t *testing.T)               { guesttest.Strict(t, guest) }
func TestPIIRedactor_MatchesGoRandom(t *testing.T) { guesttest.RandomRedactor(t, guest) }
func BenchmarkEcho_Process(b *testing.B)           { guesttest.BenchEcho(b, guest) }
func BenchmarkPIIRedactor_Process(b *testing.B)    { guesttest.BenchPIIRedactor(b, guest) }
func BenchmarkLookup(b *testing.B)                 { guesttest.BenchLookup(b, guest) }
func TestPIIRedactor_MatchesGo(t *testing.T)       { guesttest.MatchesGo(t, guest) }
func TestPIIRedactor_InitErrors(t *testing.T)      { guesttest.InitErrors(t, guest) }
func TestPIIRedactor_Exports(t *testing.T)         { guesttest.Exports(t, guest) }
func TestConformance(t *testing.T)                 { guesttest.Conformance(t, guest) }
func TestUserTier_MatchesGo(t *testing.T)          { guesttest.UserTier(t, guest) }
