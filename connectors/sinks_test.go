package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

func buildSink(t testing.TB, typ string, cfg any, env Env) Sink {
	t.Helper()
	spec, ok := Lookup(KindSink, typ)
	if !ok {
		t.Fatalf("sink %q not registered", typ)
	}
	if spec.Check != nil {
		if err := spec.Check(cfg); err != nil {
			t.Fatalf("Check: %v", err)
		}
	}
	s, err := BuildSink(spec, cfg, env)
	if err != nil {
		t.Fatalf("BuildSink: %v", err)
	}
	return s
}

func testRecords() []*record.Record {
	a := record.New("k1", []byte(`{"a":1}`))
	a.Metadata.Set("tenant", "acme")
	a.EventTime = time.Date(2024, 3, 4, 5, 6, 7, 8000000, time.UTC).UnixNano()
	a.Source = "orders"
	b := record.New("", []byte(`not json`))
	return []*record.Record{a, b}
}

func TestFileSink_Write(t *testing.T) {
	const payloadOut = "{\"a\":1}\nnot json\n"
	const envelopeOut = `{"key":"k1","payload":{"a":1},"metadata":{"tenant":"acme"},"event_time":"2024-03-04T05:06:07.008Z","source":"orders"}` + "\n" +
		`{"key":"","payload":"not json","metadata":{}}` + "\n"
	tests := []struct {
		name     string
		existing string // "" means no file yet
		append   bool
		format   string
		want     string
	}{
		{"new file payload", "", false, FormatPayload, payloadOut},
		{"new file envelope", "", false, FormatEnvelope, envelopeOut},
		{"truncate", "old line\n", false, FormatPayload, payloadOut},
		{"append", "old line\n", true, FormatPayload, "old line\n" + payloadOut},
		{"append to new file", "", true, FormatEnvelope, envelopeOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "out", "sub", "x.jsonl")
			if tt.existing != "" {
				writeFile(t, dir, "out/sub/x.jsonl", tt.existing)
			}
			spec, _ := Lookup(KindSink, "file")
			cfg := spec.NewConfig().(*FileSinkConfig)
			cfg.Path, cfg.Append, cfg.Format = "out/sub/x.jsonl", tt.append, tt.format
			s := buildSink(t, "file", cfg, Env{BaseDir: dir, Name: "out"})
			// Two writes: the sink keeps writing where it was.
			recs := testRecords()
			if err := s.Write(context.Background(), recs[:1]); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), recs[1:]); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("file = %q\nwant   %q", got, tt.want)
			}
		})
	}
}

func TestFileSink_Flush_WritesThrough(t *testing.T) {
	dir := t.TempDir()
	spec, _ := Lookup(KindSink, "file")
	cfg := spec.NewConfig().(*FileSinkConfig)
	cfg.Path = filepath.Join(dir, "x") // absolute
	s := buildSink(t, "file", cfg, Env{BaseDir: "/nonexistent"})
	defer s.Close()
	if err := s.Write(context.Background(), testRecords()); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(cfg.Path)
	if err != nil || string(got) != "{\"a\":1}\nnot json\n" {
		t.Fatalf("after Flush: %q, %v", got, err)
	}
}

func TestFileSink_Build_Errors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "afile", "x")
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, format, wantErr string
	}{
		{"bad format", "x.jsonl", "xml", `unknown format "xml"`},
		{"parent is a file", "afile/x.jsonl", FormatPayload, "output directory"},
		{"path is a directory", "adir", FormatPayload, "output file"},
	}
	spec, _ := Lookup(KindSink, "file")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := spec.NewConfig().(*FileSinkConfig)
			cfg.Path, cfg.Format = tt.path, tt.format
			_, err := BuildSink(spec, cfg, Env{BaseDir: dir, Name: "out"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), `sink "out" (file): `) {
				t.Fatalf("BuildSink = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSinkSpec_Check_Format(t *testing.T) {
	for _, typ := range []string{"file", "stdout"} {
		spec, _ := Lookup(KindSink, typ)
		for _, tt := range []struct {
			format string
			ok     bool
		}{{FormatPayload, true}, {FormatEnvelope, true}, {"", false}, {"json", false}} {
			cfg := spec.NewConfig()
			reflect.ValueOf(cfg).Elem().FieldByName("Format").SetString(tt.format)
			if fc, ok := cfg.(*FileSinkConfig); ok {
				fc.Path = "out.jsonl"
			}
			if err := spec.Check(cfg); (err == nil) != tt.ok {
				t.Errorf("%s: Check(format %q) = %v", typ, tt.format, err)
			}
			if _, err := BuildSink(spec, cfg, Env{BaseDir: t.TempDir(), Stdout: io.Discard}); (err == nil) != tt.ok {
				t.Errorf("%s: Build(format %q) = %v", typ, tt.format, err)
			}
		}
	}
}

// closeRecorder is a writer that remembers whether it was closed.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestStdoutSink_Write(t *testing.T) {
	tests := []struct {
		format, want string
	}{
		{FormatPayload, "{\"a\":1}\nnot json\n"},
		{FormatEnvelope, `{"key":"k1","payload":{"a":1},"metadata":{"tenant":"acme"},"event_time":"2024-03-04T05:06:07.008Z","source":"orders"}` + "\n" +
			`{"key":"","payload":"not json","metadata":{}}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out closeRecorder
			s := buildSink(t, "stdout", &StdoutSinkConfig{Format: tt.format}, Env{Stdout: &out})
			if err := s.Write(context.Background(), testRecords()); err != nil {
				t.Fatal(err)
			}
			if out.Len() != 0 {
				t.Fatalf("written before Flush: %q (expected buffering)", out.String())
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Fatalf("stdout = %q\nwant     %q", out.String(), tt.want)
			}
			if err := s.Write(context.Background(), testRecords()[1:]); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if strings.Count(out.String(), "\n") != 3 {
				t.Fatalf("Close did not flush: %q", out.String())
			}
			if out.closed {
				t.Fatal("stdout sink closed the process's standard output")
			}
		})
	}
}

func TestStdoutSink_Build_DefaultsToOSStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	s := buildSink(t, "stdout", &StdoutSinkConfig{Format: FormatPayload}, Env{})
	os.Stdout = saved
	if err := s.Write(context.Background(), testRecords()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The sink must not have closed the pipe (it is "standard output").
	if _, err := w.Write([]byte("end\n")); err != nil {
		t.Fatalf("standard output closed by the sink: %v", err)
	}
	w.Close()
	got, _ := io.ReadAll(r)
	if string(got) != "{\"a\":1}\nnot json\nend\n" {
		t.Fatalf("stdout = %q", got)
	}
}

func TestDiscardSink_Write_Accepts(t *testing.T) {
	s := buildSink(t, "discard", &struct{}{}, Env{})
	if err := s.Write(context.Background(), testRecords()); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

type failWriter struct {
	writeErr, closeErr error
}

func (f failWriter) Write(p []byte) (int, error) {
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	return len(p), nil
}

func (f failWriter) Close() error { return f.closeErr }

func TestWriterSink_Write_Errors(t *testing.T) {
	errWrite, errClose := errors.New("write failed"), errors.New("close failed")
	big := record.New("", bytes.Repeat([]byte("x"), 100))
	tests := []struct {
		name               string
		w                  failWriter
		format             string
		wantWrite, wantCls error
	}{
		// After a failed Write the buffer is empty (the Sink contract), so
		// Close has nothing left to flush and reports only its own error.
		{"write error payload", failWriter{writeErr: errWrite}, FormatPayload, errWrite, nil},
		{"write error envelope", failWriter{writeErr: errWrite}, FormatEnvelope, errWrite, nil},
		{"close error", failWriter{closeErr: errClose}, FormatPayload, nil, errClose},
		{"write and close errors", failWriter{writeErr: errWrite, closeErr: errClose}, FormatPayload, errWrite, errClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A buffer smaller than the batch makes Write reach the writer.
			s := NewWriterSink(tt.w, tt.format, 16)
			err := s.Write(context.Background(), []*record.Record{big, big})
			if !errors.Is(err, tt.wantWrite) {
				t.Fatalf("Write = %v, want %v", err, tt.wantWrite)
			}
			if err := s.Close(); !errors.Is(err, tt.wantCls) {
				t.Fatalf("Close = %v, want %v", err, tt.wantCls)
			}
		})
	}
}

// flakyWriter fails the writes while fail is set.
type flakyWriter struct {
	bytes.Buffer
	fail bool
}

func (f *flakyWriter) Write(p []byte) (int, error) {
	if f.fail {
		return 0, errors.New("write failed")
	}
	return f.Buffer.Write(p)
}

func (f *flakyWriter) Close() error { return nil }

// TestWriterSink_Flush_ErrorDiscardsBuffer: after a failed Flush the sink
// accepts writes again, and the lines of the failed Flush are not written
// by a later one (the engine writes them again or dead-letters them).
func TestWriterSink_Flush_ErrorDiscardsBuffer(t *testing.T) {
	w := &flakyWriter{fail: true}
	s := NewWriterSink(w, FormatPayload, 4096)
	if s.CanRollback() {
		t.Fatal("CanRollback = true for a writer")
	}
	ctx := context.Background()
	if err := s.Write(ctx, []*record.Record{record.New("", []byte("lost"))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err == nil {
		t.Fatal("Flush succeeded on a failing writer")
	}
	w.fail = false
	if err := s.Write(ctx, []*record.Record{record.New("", []byte("retried"))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush after an error = %v (a bufio error must not stick)", err)
	}
	if w.String() != "retried\n" {
		t.Fatalf("written %q, want only the line written after the error", w.String())
	}
}

func TestAppendEnvelope_Fields(t *testing.T) {
	withMeta := record.New("k", []byte(`[1,2]`))
	withMeta.Metadata.Set("a", "1")
	withMeta.Metadata.Set("q\"uote", "line\nbreak")
	withTime := record.New("", []byte(`{}`))
	withTime.EventTime = 0 // the Unix epoch is a time, not "none"
	tests := []struct {
		name string
		rec  *record.Record
		want string
	}{
		{"json payload", record.New("u1", []byte(`{"a":1}`)), `{"key":"u1","payload":{"a":1},"metadata":{}}`},
		{"scalar payload", record.New("", []byte(`42`)), `{"key":"","payload":42,"metadata":{}}`},
		{"string payload", record.New("", []byte(`"s"`)), `{"key":"","payload":"s","metadata":{}}`},
		{"invalid payload becomes a string", record.New("", []byte(`{"a":`)), `{"key":"","payload":"{\"a\":","metadata":{}}`},
		{"text payload", record.New("", []byte("hi\tthere")), `{"key":"","payload":"hi\tthere","metadata":{}}`},
		{"empty payload", record.New("", nil), `{"key":"","payload":"","metadata":{}}`},
		{"whitespace payload", record.New("", []byte("  ")), `{"key":"","payload":"  ","metadata":{}}`},
		{"metadata", withMeta, `{"key":"k","payload":[1,2],"metadata":{"a":"1","q\"uote":"line\nbreak"}}`},
		{"epoch event time", withTime, `{"key":"","payload":{},"metadata":{},"event_time":"1970-01-01T00:00:00Z"}`},
		{"full", testRecords()[0], `{"key":"k1","payload":{"a":1},"metadata":{"tenant":"acme"},"event_time":"2024-03-04T05:06:07.008Z","source":"orders"}`},
		// Valid JSON spread over lines stays one line: an envelope is a line.
		{"multi-line json payload", record.New("", []byte("{\n  \"a\": [1,\r\n 2]\n}\n")), `{"key":"","payload":{  "a": [1, 2]},"metadata":{}}`},
		// JSON is UTF-8: a payload that is JSON but for invalid UTF-8 in
		// a string is a string, with U+FFFD for the invalid bytes.
		{"invalid utf-8 in a json payload", record.New("", []byte("{\"a\":\"\xff\"}")), `{"key":"","payload":"{\"a\":\"\ufffd\"}","metadata":{}}`},
		{"invalid utf-8 text payload", record.New("", []byte("a\xc0\xafb")), `{"key":"","payload":"a\ufffd\ufffdb","metadata":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix:")
			got := AppendEnvelope(prefix, tt.rec)
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("AppendEnvelope lost the prefix: %q", got)
			}
			got = got[len(prefix):]
			if string(got) != tt.want {
				t.Fatalf("AppendEnvelope = %s\nwant             %s", got, tt.want)
			}
			checkEnvelope(t, got, tt.rec)
		})
	}
}

// checkEnvelope decodes an envelope with encoding/json and compares each
// field with the record it came from.
func checkEnvelope(t testing.TB, env []byte, r *record.Record) {
	t.Helper()
	if bytes.ContainsAny(env, "\r\n") {
		t.Fatalf("envelope spans lines: %q", env)
	}
	if !utf8.Valid(env) {
		t.Fatalf("envelope %q is not valid UTF-8, so not JSON (RFC 8259 section 8.1)", env)
	}
	var e struct {
		Key       *string           `json:"key"`
		Payload   json.RawMessage   `json:"payload"`
		Metadata  map[string]string `json:"metadata"`
		EventTime *time.Time        `json:"event_time"`
		Source    *string           `json:"source"`
	}
	dec := json.NewDecoder(bytes.NewReader(env))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("envelope %q is not valid JSON: %v", env, err)
	}
	if e.Key == nil || *e.Key != validString(r.Key) {
		t.Errorf("key = %v, want %q", e.Key, r.Key)
	}
	if e.Metadata == nil || len(e.Metadata) != len(r.Metadata) {
		t.Errorf("metadata = %v, want %v", e.Metadata, r.Metadata)
	}
	for _, kv := range r.Metadata {
		if v, ok := e.Metadata[validString(kv.Key)]; !ok || v != validString(kv.Value) {
			t.Errorf("metadata[%q] = %q, want %q", kv.Key, v, kv.Value)
		}
	}
	if r.HasEventTime() != (e.EventTime != nil) || e.EventTime != nil && !e.EventTime.Equal(r.Time()) {
		t.Errorf("event_time = %v, want %v", e.EventTime, r.Time())
	}
	if (r.Source != "") != (e.Source != nil) || e.Source != nil && *e.Source != validString(r.Source) {
		t.Errorf("source = %v, want %q", e.Source, r.Source)
	}
	var got any
	if err := json.Unmarshal(e.Payload, &got); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if len(r.Payload) > 0 && fastjson.ValidateBytes(r.Payload) == nil && utf8.Valid(r.Payload) {
		var want any
		if err := json.Unmarshal(r.Payload, &want); err != nil {
			t.Fatalf("fastjson accepts payload %q that encoding/json rejects: %v", r.Payload, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("payload = %v, want %v", got, want)
		}
	} else if s, ok := got.(string); !ok || s != validString(string(r.Payload)) {
		t.Errorf("payload = %#v, want the string %q", got, r.Payload)
	}
}

// validString is s with every byte of invalid UTF-8 replaced by U+FFFD,
// which is what encoding/json and AppendJSONString do.
func validString(s string) string { return string([]rune(s)) }

func TestAppendJSONString_MatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "hello", `"hello"`},
		{"quotes and backslash", `a"b\c`, `"a\"b\\c"`},
		{"newline tab cr", "a\nb\tc\rd", `"a\nb\tc\rd"`},
		{"other control chars", "\x00\x01\x08\x0c\x1f", `"\u0000\u0001\u0008\u000c\u001f"`},
		{"del is not escaped", "\x7f", "\"\x7f\""},
		{"html is not escaped", "<a&b>", `"<a&b>"`},
		{"unicode", "café ☕ 𝄞", `"café ☕ 𝄞"`},
		{"line separators kept", "\u2028\u2029", "\"\u2028\u2029\""},
		{"invalid byte", "a\xffb", `"a\ufffdb"`},
		{"truncated rune", "\xe2\x82", `"\ufffd\ufffd"`},
		{"surrogate half", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"overlong encoding", "\xc0\xaf", `"\ufffd\ufffd"`},
		{"literal replacement char", "\ufffd", "\"\ufffd\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendJSONString([]byte("x"), tt.in)
			if string(got[1:]) != tt.want || got[0] != 'x' {
				t.Fatalf("AppendJSONString(%q) = %s, want %s", tt.in, got[1:], tt.want)
			}
			checkJSONString(t, tt.in, got[1:])
		})
	}
}

// checkJSONString checks enc against encoding/json: it decodes to what
// json.Marshal(s) decodes to, which is s with invalid UTF-8 replaced.
func checkJSONString(t testing.TB, s string, enc []byte) {
	t.Helper()
	var got string
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatalf("AppendJSONString(%q) = %s: invalid JSON: %v", s, enc, err)
	}
	std, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	if err := json.Unmarshal(std, &want); err != nil {
		t.Fatal(err)
	}
	if got != want || got != validString(s) {
		t.Fatalf("AppendJSONString(%q) decodes to %q; encoding/json round trip gives %q", s, got, want)
	}
	if !utf8.Valid(enc) {
		t.Fatalf("AppendJSONString(%q) = %q is not valid UTF-8", s, enc)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00\x1f\x7f", "é☕𝄞", "\xff", "\xed\xa0\x80", "\u2028", "a\r\nb\tc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkJSONString(t, s, AppendJSONString(nil, s))
	})
}

func FuzzAppendEnvelope(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "", "x", `{"a":`, "[1,\n2]", " \"s\" ", "\xff", `"\ud800"`, "1e5", "-0.5", "{\"a\":\"\u2028\"}", "{\"a\":\"\xff\"}", "[\"\xed\xa0\x80\"]"} {
		f.Add(s, "k", "v")
	}
	f.Fuzz(func(t *testing.T, payload, key, meta string) {
		r := record.New(key, []byte(payload))
		r.Metadata.Set(meta, meta)
		r.Source = meta
		r.EventTime = int64(len(payload)) * 1e15
		checkEnvelope(t, AppendEnvelope(nil, r), r)
	})
}

func BenchmarkAppendEnvelope(b *testing.B) {
	r := record.New("u123", []byte(`{"id":1,"user_id":"u123","type":"click","active":true,"amount":12.5,"ts":1700000000000,"pad":"xxxxxxxxxxxxxxxxxxxx"}`))
	r.Metadata.Set("tenant", "acme")
	r.Metadata.Set("route", "high_value")
	r.EventTime = time.Date(2024, 3, 4, 5, 6, 7, 8, time.UTC).UnixNano()
	r.Source = "orders"
	buf := AppendEnvelope(nil, r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEnvelope(buf[:0], r)
	}
}

func BenchmarkWriterSink_Write(b *testing.B) {
	recs := make([]*record.Record, 1024)
	for i := range recs {
		recs[i] = record.New("u1", []byte(`{"id":1,"user_id":"u1","type":"click","active":true,"amount":12.5,"ts":1700000000000,"pad":"xxxxxxxxxxxxxx"}`))
	}
	for _, format := range []string{FormatPayload, FormatEnvelope} {
		b.Run(format, func(b *testing.B) {
			s := NewWriterSink(nopCloser{io.Discard}, format, 1<<20)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Write(context.Background(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
