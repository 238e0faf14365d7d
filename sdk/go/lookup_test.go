package conveyor

import (
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

func newLookupGuest(t *testing.T, f LookupFunc) *guest {
	t.Helper()
	g := &guest{hooks: hooks{lookup: f}}
	if err := g.init(abi.AppendConfig(nil, nil)); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGuest_LookupBatch_HitsAndMisses(t *testing.T) {
	buf := []byte(`{"tier":"gold"}`)
	g := newLookupGuest(t, func(key []byte) ([]byte, bool) {
		if string(key) == "u1" {
			return buf, true // reused below: the SDK must have copied it
		}
		return nil, false
	})
	frame, err := g.lookupBatch(abi.AppendLookupRequest(nil, [][]byte{[]byte("u1"), []byte("u2"), nil}))
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXXXXXXXXX")
	res, err := abi.DecodeLookupResult(frame, 3, nil)
	if err != nil {
		t.Fatalf("SDK wrote an invalid result frame: %v", err)
	}
	if !res[0].Found || string(res[0].Row) != `{"tier":"gold"}` || res[1].Found || res[2].Found {
		t.Fatalf("results = %+v", res)
	}
}

func TestGuest_LookupBatch_WithoutLookupFails(t *testing.T) {
	g := newGuest(t, func(Record, Emitter) error { return nil }, nil)
	if _, err := g.lookupBatch(abi.AppendLookupRequest(nil, nil)); err == nil || !strings.Contains(err.Error(), "without a registered lookup") {
		t.Fatalf("err = %v", err)
	}
}

func TestHooks_Capabilities_Bits(t *testing.T) {
	tr := func(Record, Emitter) error { return nil }
	lk := func([]byte) ([]byte, bool) { return nil, false }
	tests := []struct {
		h    hooks
		want uint32
	}{
		{hooks{transform: tr}, abi.CapTransform},
		{hooks{lookup: lk}, abi.CapLookup},
		{hooks{transform: tr, lookup: lk}, abi.CapTransform | abi.CapLookup},
	}
	for _, tt := range tests {
		if got := tt.h.capabilities(); got != tt.want {
			t.Errorf("capabilities = %b, want %b", got, tt.want)
		}
	}
}
