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

func TestRecord_ValidJSON(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    bool
	}{{`{"a":1}`, true}, {`[1,2]`, true}, {`{"a":`, false}, {``, false}, {`nope`, false}} {
		r := New("", []byte(c.payload))
		if got := r.ValidJSON(); got != c.want {
			t.Errorf("ValidJSON(%q) = %v, want %v", c.payload, got, c.want)
		}
		if r.Parsed() {
			t.Errorf("ValidJSON(%q) must not build a parse tree", c.payload)
		}
	}
	r := New("", []byte(`{"a":1}`))
	r.JSON()
	if !r.ValidJSON() {
		t.Fatal("a parsed payload is valid")
	}
	r.SetPayload([]byte(`{`))
	if r.ValidJSON() {
		t.Fatal("SetPayload must forget validity")
	}
	r.MarkValidJSON()
	if !r.ValidJSON() || !r.Clone().ValidJSON() {
		t.Fatal("MarkValidJSON must stick, and carry over to clones")
	}
}

func TestRecord_JSONValidated(t *testing.T) {
	r := New("", []byte(`{"a":1}`))
	if r.JSONValidated() {
		t.Fatal("nothing has checked the payload yet")
	}
	r.JSON()
	if !r.JSONValidated() {
		t.Fatal("a parsed payload is known valid")
	}
	bad := New("", []byte(`{`))
	bad.JSON()
	if bad.JSONValidated() {
		t.Fatal("a payload that failed to parse is not valid")
	}
}
