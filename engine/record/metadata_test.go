package record

import "testing"

func TestMetadata_SetGetDelete(t *testing.T) {
	var m Metadata
	m.Set("type", "user_event")
	m.Set("user_id", "42")
	m.Set("type", "other")
	if v, ok := m.Get("type"); !ok || v != "other" {
		t.Fatalf("Get(type) = %q,%v", v, ok)
	}
	if len(m) != 2 {
		t.Fatalf("len = %d, want 2 (Set must replace)", len(m))
	}
	m.Delete("type")
	if m.Has("type") || !m.Has("user_id") {
		t.Fatalf("after Delete: %v", m)
	}
	m.Delete("missing")
	if got := m.Map(); len(got) != 1 || got["user_id"] != "42" {
		t.Fatalf("Map() = %v", got)
	}
}
