package record

import (
	"testing"
	"time"
)

func TestRecord_JSON_ParsesOnce(t *testing.T) {
	r := New("k", []byte(`{"a":1,"b":{"c":"x"}}`))
	v1, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := r.JSON()
	if v1 != v2 {
		t.Fatal("second JSON() call re-parsed the payload")
	}
	if got := string(v1.GetStringBytes("b", "c")); got != "x" {
		t.Fatalf("b.c = %q, want x", got)
	}
	r.SetPayload([]byte(`{"a":2}`))
	v3, _ := r.JSON()
	if v3.GetInt("a") != 2 {
		t.Fatalf("after SetPayload a = %d, want 2", v3.GetInt("a"))
	}
}

func TestRecord_JSON_Malformed(t *testing.T) {
	r := New("", []byte(`{"a":`))
	if _, err := r.JSON(); err == nil {
		t.Fatal("want parse error for truncated JSON")
	}
}

func TestRecord_Time(t *testing.T) {
	r := New("", nil)
	if r.HasEventTime() || !r.Time().IsZero() {
		t.Fatal("new record must have no event time")
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	r.SetTime(ts)
	if !r.HasEventTime() || !r.Time().Equal(ts) {
		t.Fatalf("Time() = %v, want %v", r.Time(), ts)
	}
}

func TestRecord_Clone_Independent(t *testing.T) {
	r := New("k", []byte(`{}`))
	r.Metadata.Set("a", "1")
	c := r.Clone()
	c.Metadata.Set("a", "2")
	c.Metadata.Set("b", "3")
	if v, _ := r.Metadata.Get("a"); v != "1" {
		t.Fatalf("clone changed original metadata: a=%q", v)
	}
	if r.Metadata.Has("b") {
		t.Fatal("clone added key to original")
	}
}
