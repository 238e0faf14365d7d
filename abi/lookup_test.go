package abi

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestAppendLookupRequest_Layout(t *testing.T) {
	keys := [][]byte{[]byte("ab"), nil}
	got := AppendLookupRequest(nil, keys)
	want := []byte("CVYB" + "\x01\x00\x01\x00" + "\x03\x00\x00\x00" + "\x02\x00\x00\x00" +
		"\x02\x00\x00\x00ab" + "\x00\x00\x00\x00")
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n := LookupRequestSize(keys); n != len(got) {
		t.Fatalf("LookupRequestSize = %d, frame is %d bytes", n, len(got))
	}
}

func TestAppendLookupResult_Layout(t *testing.T) {
	res := []LookupResult{{Found: true, Row: []byte(`{}`)}, {}}
	got := AppendLookupResult(nil, res)
	want := []byte("CVYB" + "\x01\x00\x01\x00" + "\x04\x00\x00\x00" + "\x02\x00\x00\x00" +
		"\x01\x02\x00\x00\x00{}" + "\x00")
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n := LookupResultSize(res); n != len(got) {
		t.Fatalf("LookupResultSize = %d, frame is %d bytes", n, len(got))
	}
}

func TestDecodeLookupRequest_RoundTrip(t *testing.T) {
	keys := [][]byte{[]byte("hit-1"), nil, []byte("\xff\x00")}
	got, err := DecodeLookupRequest(AppendLookupRequest(nil, keys), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[0]) != "hit-1" || got[1] != nil || string(got[2]) != "\xff\x00" {
		t.Fatalf("got %q", got)
	}
}

func TestDecodeLookupResult_RoundTrip(t *testing.T) {
	res := []LookupResult{{Found: true, Row: []byte(`{"a":1}`)}, {}, {Found: true, Row: []byte(`{}`)}}
	got, err := DecodeLookupResult(AppendLookupResult(nil, res), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		if got[i].Found != res[i].Found || !bytes.Equal(got[i].Row, res[i].Row) {
			t.Fatalf("entry %d = %+v, want %+v", i, got[i], res[i])
		}
	}
}

func TestDecodeLookupResult_Rejects(t *testing.T) {
	one := AppendLookupResult(nil, []LookupResult{{Found: true, Row: []byte(`{}`)}})
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(one)) }
	tests := []struct {
		name string
		src  []byte
		keys int
		want string
	}{
		{"count differs", one, 2, "1 entries, want one per key (2)"},
		{"input kind", AppendInputBatch(nil, nil), 0, "frame kind 1, want 4"},
		{"request kind", AppendLookupRequest(nil, nil), 0, "frame kind 3, want 4"},
		{"unknown entry kind", mutate(func(b []byte) []byte { b[16] = 2; return b }), 1, "unknown lookup entry kind 2"},
		{"truncated row", one[:len(one)-1], 1, "row length 2 past end"},
		{"trailing", append(bytes.Clone(one), 0), 1, "1 trailing bytes"},
		{"flags", mutate(func(b []byte) []byte { b[9] = 1; return b }), 1, "unknown header flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeLookupResult(tt.src, tt.keys, nil)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FrameError", err)
			}
			if !strings.Contains(fe.Reason, tt.want) {
				t.Fatalf("reason = %q, want it to contain %q", fe.Reason, tt.want)
			}
		})
	}
}

func TestDecodeLookupRequest_Rejects(t *testing.T) {
	one := AppendLookupRequest(nil, [][]byte{[]byte("k")})
	tests := []struct {
		name string
		src  []byte
		want string
	}{
		{"huge count", append(bytes.Clone(one[:12]), 0xff, 0xff, 0xff, 0x7f), "key count"},
		{"truncated key", one[:len(one)-1], "key length 1 past end"},
		{"result kind", AppendLookupResult(nil, nil), "frame kind 4, want 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeLookupRequest(tt.src, nil)
			var fe *FrameError
			if !errors.As(err, &fe) || !strings.Contains(fe.Reason, tt.want) {
				t.Fatalf("err = %v, want a *FrameError containing %q", err, tt.want)
			}
		})
	}
}

func FuzzDecodeLookupRequest(f *testing.F) {
	f.Add(AppendLookupRequest(nil, nil))
	f.Add(AppendLookupRequest(nil, [][]byte{[]byte("hit-1"), nil}))
	f.Fuzz(func(t *testing.T, src []byte) {
		keys, err := DecodeLookupRequest(src, nil)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FrameError: %v", err)
			}
			return
		}
		again := AppendLookupRequest(nil, keys)
		if !bytes.Equal(again[:6], src[:6]) || !bytes.Equal(again[8:], src[8:]) {
			t.Fatalf("re-encoding differs:\n%q\n%q", src, again)
		}
	})
}

func FuzzDecodeLookupResult(f *testing.F) {
	f.Add(AppendLookupResult(nil, nil), 0)
	f.Add(AppendLookupResult(nil, []LookupResult{{Found: true, Row: []byte(`{"n":1}`)}, {}}), 2)
	f.Fuzz(func(t *testing.T, src []byte, keys int) {
		res, err := DecodeLookupResult(src, keys, nil)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FrameError: %v", err)
			}
			return
		}
		if len(res) != keys {
			t.Fatalf("%d results for %d keys", len(res), keys)
		}
		again := AppendLookupResult(nil, res)
		if !bytes.Equal(again[:6], src[:6]) || !bytes.Equal(again[8:], src[8:]) {
			t.Fatalf("re-encoding differs:\n%q\n%q", src, again)
		}
	})
}
