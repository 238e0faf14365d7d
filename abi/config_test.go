package abi

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestConfig_RoundTrip_Maps(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
	}{
		{"nil", nil},
		{"one", map[string]string{"field": "name"}},
		{"many", map[string]string{"b": "2", "a": "1", "": "empty key", "c": "", "ü": "\x00\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeConfig(AppendConfig(nil, tt.kv))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.kv) {
				t.Fatalf("got %v, want %v", got, tt.kv)
			}
		})
	}
}

func TestAppendConfig_Layout(t *testing.T) {
	got := AppendConfig(nil, map[string]string{"b": "", "a": "xy"})
	want := []byte("CVYC\x01\x00\x01\x00\x02\x00\x00\x00" +
		"\x01\x00\x00\x00a\x02\x00\x00\x00xy" + "\x01\x00\x00\x00b\x00\x00\x00\x00")
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDecodeConfig_Rejects(t *testing.T) {
	good := AppendConfig(nil, map[string]string{"a": "1", "b": "2"})
	// Offsets: header 0..12, "a" len 12, key 16, value len 17, value 21,
	// "b" len 22, key 26, value len 27, value 31.
	tests := []struct {
		name   string
		frame  []byte
		reason string
	}{
		{"empty", nil, "truncated header"},
		{"short", good[:11], "truncated header"},
		{"batch magic", mutate(good, func(b []byte) []byte { copy(b, BatchMagic); return b }), "bad magic"},
		{"major 2", mutate(good, func(b []byte) []byte { b[4] = 2; return b }), "unsupported version 2.1"},
		{"count too big", mutate(good, put32(8, 3)), "entry count 3 exceeds"},
		{"key past end", mutate(good, put32(12, 99)), "key length 99 past end"},
		{"value past end", mutate(good, put32(27, 2)), "value length 2 past end"},
		{"truncated value length", good[:29], "truncated value length"},
		{"duplicate key", mutate(good, func(b []byte) []byte { b[26] = 'a'; return b }), "must be unique and sorted"},
		{"unsorted", AppendConfig(nil, nil)[:0], "truncated header"},
		{"trailing", append(append([]byte(nil), good...), 'x'), "1 trailing bytes"},
	}
	// Build a properly unsorted frame by swapping the two entries.
	unsorted := append([]byte(nil), good[:12]...)
	unsorted = append(unsorted, good[22:]...)
	unsorted = append(unsorted, good[12:22]...)
	tests[9] = struct {
		name   string
		frame  []byte
		reason string
	}{"unsorted", unsorted, "key \"a\" not after \"b\""}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeConfig(tt.frame)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FrameError", err)
			}
			if !strings.Contains(fe.Reason, tt.reason) || fe.Frame != "config" {
				t.Fatalf("frame %q reason %q, want config / %q", fe.Frame, fe.Reason, tt.reason)
			}
			if m != nil {
				t.Fatalf("map returned on error: %v", m)
			}
		})
	}
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add(AppendConfig(nil, nil))
	f.Add(AppendConfig(nil, map[string]string{"a": "1", "bb": "22", "": ""}))
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := DecodeConfig(src)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FrameError: %v", err)
			}
			return
		}
		again := AppendConfig(nil, m)
		if !bytes.Equal(again[:6], src[:6]) || !bytes.Equal(again[8:], src[8:]) {
			t.Fatalf("re-encoding differs:\n%q\n%q", src, again)
		}
		back, err := DecodeConfig(again)
		if err != nil || !maps.Equal(back, m) {
			t.Fatalf("decode(encode(x)) = %v, %v; want %v", back, err, m)
		}
	})
}
