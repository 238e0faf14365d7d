package connectors

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unsafe"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// chunkSizes are the read-buffer sizes every file source case runs with:
// tiny ones force a refill inside nearly every line, the default reads the
// whole input at once.
var chunkSizes = []int{1, 2, 3, 5, 8, 17, 64, 1 << 20}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildFileSource builds a file source through the registry, as the engine
// does, and sets its read-buffer size.
func buildFileSource(t testing.TB, cfg FileSourceConfig, env Env, chunk int) *fileSource {
	t.Helper()
	spec, ok := Lookup(KindSource, "file")
	if !ok {
		t.Fatal("file source not registered")
	}
	c := spec.NewConfig().(*FileSourceConfig)
	c.Path = cfg.Path
	if cfg.Codec != "" {
		c.Codec = cfg.Codec
	}
	if cfg.MaxLineBytes != 0 {
		c.MaxLineBytes = cfg.MaxLineBytes
	}
	c.KeyField = cfg.KeyField
	c.ParseWorkers = cfg.ParseWorkers
	src, err := BuildSource(spec, c, env)
	if err != nil {
		t.Fatalf("BuildSource: %v", err)
	}
	s := src.(*fileSource)
	s.chunk = chunk
	return s
}

type wantReject struct {
	line    int
	raw     string
	errText string
}

func TestFileSource_Read_Lines(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		codec     string
		maxLine   int
		keyField  string
		want      []string // payloads
		wantSeq   []int64  // Ack.Seq of each record
		wantKeys  []string // nil: not checked
		wantRejct []wantReject
	}{
		{
			name:    "json lines",
			input:   "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
			want:    []string{`{"a":1}`, `{"a":2}`, `{"a":3}`},
			wantSeq: []int64{1, 2, 3},
		},
		{
			name:    "crlf",
			input:   "{\"a\":1}\r\n{\"a\":2}\r\n",
			want:    []string{`{"a":1}`, `{"a":2}`},
			wantSeq: []int64{1, 2},
		},
		{
			name:    "blank lines skipped and still counted",
			input:   "\n{\"a\":1}\n\n   \n\t\r\n{\"a\":2}\n\n",
			want:    []string{`{"a":1}`, `{"a":2}`},
			wantSeq: []int64{2, 6},
		},
		{
			name:    "final line without newline",
			input:   "{\"a\":1}\n{\"a\":2}",
			want:    []string{`{"a":1}`, `{"a":2}`},
			wantSeq: []int64{1, 2},
		},
		{
			name:    "final crlf line without newline",
			input:   "{\"a\":1}\n{\"a\":2}\r",
			want:    []string{`{"a":1}`, `{"a":2}`},
			wantSeq: []int64{1, 2},
		},
		{
			name:    "empty input",
			input:   "",
			want:    nil,
			wantSeq: nil,
		},
		{
			name:    "long lines across buffers",
			input:   `{"s":"` + strings.Repeat("x", 300) + "\"}\n{\"s\":\"" + strings.Repeat("y", 1000) + "\"}\n",
			want:    []string{`{"s":"` + strings.Repeat("x", 300) + `"}`, `{"s":"` + strings.Repeat("y", 1000) + `"}`},
			wantSeq: []int64{1, 2},
		},
		{
			name:    "malformed json rejected and the run continues",
			input:   "{\"a\":1}\n{\"a\":\n[1,2]\nnot json\n{\"a\":5}\n",
			want:    []string{`{"a":1}`, `[1,2]`, `{"a":5}`},
			wantSeq: []int64{1, 3, 5},
			wantRejct: []wantReject{
				{2, `{"a":`, "malformed JSON"},
				{4, `not json`, "malformed JSON"},
			},
		},
		{
			name:      "malformed only",
			input:     "{\n}x\n",
			want:      nil,
			wantRejct: []wantReject{{1, "{", "malformed JSON"}, {2, "}x", "malformed JSON"}},
		},
		{
			name:      "invalid UTF-8 and deep nesting are rejected at the source",
			input:     "{\"n\":1}\n{\"s\":\"\xff\xfe\"}\n" + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + "\n{\"n\":2}\n",
			want:      []string{`{"n":1}`, `{"n":2}`},
			wantSeq:   []int64{1, 4},
			wantRejct: []wantReject{{2, "{\"s\":\"\xff\xfe\"}", "invalid UTF-8 at byte 6"}, {3, strings.Repeat("[", 1001) + strings.Repeat("]", 1001), "JSON nested deeper than max_depth (1000) at byte 1000"}},
		},
		{
			name:    "over-long line rejected, next lines read",
			input:   "{\"a\":1}\n{\"a\":\"0123456789\"}\n{\"b\":2}\n",
			maxLine: 10,
			want:    []string{`{"a":1}`, `{"b":2}`},
			wantSeq: []int64{1, 3},
			wantRejct: []wantReject{
				{2, `{"a":"0123`, "line longer than max_line_bytes (10)"},
			},
		},
		{
			name:    "several over-long lines in a row",
			input:   strings.Repeat("z", 50) + "\n" + strings.Repeat("w", 11) + "\n[1]\n" + strings.Repeat("v", 40),
			maxLine: 10,
			want:    []string{`[1]`},
			wantSeq: []int64{3},
			wantRejct: []wantReject{
				{1, strings.Repeat("z", 10), "max_line_bytes"},
				{2, strings.Repeat("w", 10), "max_line_bytes"},
				{4, strings.Repeat("v", 10), "max_line_bytes"},
			},
		},
		{
			name:    "line of exactly max bytes is accepted",
			input:   "[\"456789\"]\n[\"4567890\"]\n",
			maxLine: 10,
			want:    []string{`["456789"]`},
			wantSeq: []int64{1},
			wantRejct: []wantReject{
				{2, `["4567890"`, "max_line_bytes"},
			},
		},
		{
			name:    "max counts bytes before crlf",
			input:   "[\"456789\"]\r\n[\"4567890\"]\r\n[\"456789\"]\r",
			maxLine: 10,
			want:    []string{`["456789"]`, `["456789"]`},
			wantSeq: []int64{1, 3},
			wantRejct: []wantReject{
				{2, `["4567890"`, "max_line_bytes"},
			},
		},
		{
			name:    "codec lines",
			input:   "hello\nnot json\r\n\n world \n{\"a\":1}",
			codec:   "lines",
			want:    []string{"hello", "not json", " world ", `{"a":1}`},
			wantSeq: []int64{1, 2, 4, 5},
		},
		{
			name:     "key_field string, number, missing",
			input:    "{\"user\":\"u1\"}\n{\"user\":42}\n{\"other\":1}\n{\"user\":1.50}\n{\"user\":null}\n{\"user\":{\"b\":[1, 2]}}\n",
			keyField: "user",
			want:     []string{`{"user":"u1"}`, `{"user":42}`, `{"other":1}`, `{"user":1.50}`, `{"user":null}`, `{"user":{"b":[1, 2]}}`},
			wantSeq:  []int64{1, 2, 3, 4, 5, 6},
			wantKeys: []string{"u1", "42", "", "1.50", "null", `{"b":[1,2]}`},
		},
		{
			name:     "key_field nested path",
			input:    "{\"u\":{\"id\":\"x\"}}\n{\"u\":{\"id\":7}}\n{\"u\":\"flat\"}\n{\"u\":{\"other\":1}}\n[1]\n",
			keyField: "u.id",
			want:     []string{`{"u":{"id":"x"}}`, `{"u":{"id":7}}`, `{"u":"flat"}`, `{"u":{"other":1}}`, `[1]`},
			wantSeq:  []int64{1, 2, 3, 4, 5},
			wantKeys: []string{"x", "7", "", "", ""},
		},
		{
			name:     "key_field array index",
			input:    "{\"items\":[{\"id\":\"first\"},{\"id\":\"second\"}]}\n",
			keyField: "items.1.id",
			want:     []string{`{"items":[{"id":"first"},{"id":"second"}]}`},
			wantSeq:  []int64{1},
			wantKeys: []string{"second"},
		},
		{
			name:     "key_field unicode escapes decoded",
			input:    "{\"k\":\"caf\\u00e9\"}\n",
			keyField: "k",
			want:     []string{`{"k":"caf\u00e9"}`},
			wantSeq:  []int64{1},
			wantKeys: []string{"café"},
		},
	}
	for _, tt := range tests {
		for _, chunk := range chunkSizes {
			for _, workers := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("%s/chunk=%d/workers=%d", tt.name, chunk, workers), func(t *testing.T) {
					dir := t.TempDir()
					p := writeFile(t, dir, "in.jsonl", tt.input)
					src := buildFileSource(t, FileSourceConfig{
						Path: "in.jsonl", Codec: tt.codec, MaxLineBytes: tt.maxLine, KeyField: tt.keyField, ParseWorkers: workers,
					}, Env{BaseDir: dir, Name: "src", BatchSize: 2}, chunk)
					src.blockLines = 2 // several jobs per block
					var sc skipCollector
					c := &sc.collector
					if err := src.Read(context.Background(), &sc); err != nil {
						t.Fatalf("Read: %v", err)
					}
					if err := src.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					if got := c.payloads(); !slices.Equal(got, tt.want) {
						t.Fatalf("payloads = %q, want %q", got, tt.want)
					}
					// Payloads are unchanged by the reads that came after them.
					if !slices.Equal(c.payloadsAtEmit, c.payloads()) {
						t.Fatalf("payloads changed after Emit: at emit %q, now %q", c.payloadsAtEmit, c.payloads())
					}
					for i, r := range c.records() {
						if r.Ack == nil || r.Ack.Seq != tt.wantSeq[i] {
							t.Errorf("record %d: Ack = %+v, want Seq %d", i, r.Ack, tt.wantSeq[i])
						}
						if r.Source != "src" || r.EventTime != record.NoEventTime {
							t.Errorf("record %d: Source %q EventTime %d, want src and none", i, r.Source, r.EventTime)
						}
						if tt.wantKeys != nil && r.Key != tt.wantKeys[i] {
							t.Errorf("record %d: Key = %q, want %q", i, r.Key, tt.wantKeys[i])
						}
						if tt.keyField != "" && KeyOf(r.Payload, tt.keyField) != r.Key {
							t.Errorf("record %d: KeyOf = %q, the source's key %q", i, KeyOf(r.Payload, tt.keyField), r.Key)
						}
						if tt.codec != "lines" {
							if _, err := r.JSON(); err != nil {
								t.Errorf("record %d: JSON: %v", i, err)
							}
						}
					}
					if len(c.rejects) != len(tt.wantRejct) {
						t.Fatalf("rejects = %+v, want %d", c.rejects, len(tt.wantRejct))
					}
					for i, w := range tt.wantRejct {
						g := c.rejects[i]
						if wantOrigin := fmt.Sprintf("%s:%d", p, w.line); g.origin != wantOrigin {
							t.Errorf("reject %d: origin %q, want %q", i, g.origin, wantOrigin)
						}
						if g.raw != w.raw {
							t.Errorf("reject %d: raw %q, want %q", i, g.raw, w.raw)
						}
						if g.err == nil || !strings.Contains(g.err.Error(), w.errText) {
							t.Errorf("reject %d: err %v, want it to contain %q", i, g.err, w.errText)
						}
					}
					wantBlanks := 0
					for _, l := range modelLines(tt.input, src.maxLine) {
						if !l.tooLong && strings.TrimSpace(l.line) == "" {
							wantBlanks++
						}
					}
					if sc.skipped[skipBlank] != wantBlanks || len(sc.skipped) > 1 {
						t.Errorf("skipped %v, want %d blank lines", sc.skipped, wantBlanks)
					}
				})
			}
		}
	}
}

func TestFileSource_Read_BatchSize(t *testing.T) {
	tests := []struct {
		lines, batch int
		want         []int
	}{
		{10, 3, []int{3, 3, 3, 1}},
		{9, 3, []int{3, 3, 3}},
		{1, 1024, []int{1}},
		{5, 1, []int{1, 1, 1, 1, 1}},
		{2500, 0, []int{1024, 1024, 452}}, // 0: the default batch size
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.lines, tt.batch), func(t *testing.T) {
			var sb strings.Builder
			for i := range tt.lines {
				fmt.Fprintf(&sb, "{\"i\":%d}\n", i)
				if i%4 == 0 {
					sb.WriteString("bad\n") // rejects do not take batch slots
				}
			}
			dir := t.TempDir()
			writeFile(t, dir, "in.jsonl", sb.String())
			src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir, BatchSize: tt.batch}, 7)
			var c collector
			if err := src.Read(context.Background(), &c); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, b := range c.batches {
				sizes = append(sizes, len(b))
			}
			if !slices.Equal(sizes, tt.want) {
				t.Fatalf("batch sizes = %v, want %v", sizes, tt.want)
			}
			for i, r := range c.records() {
				if want := fmt.Sprintf("{\"i\":%d}", i); string(r.Payload) != want {
					t.Fatalf("record %d = %s, want %s", i, r.Payload, want)
				}
			}
		})
	}
}

func TestFileSource_Read_Glob(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "data/b.jsonl", "{\"f\":\"b1\"}\n{\"f\":\"b2\"}\n")
	writeFile(t, dir, "data/a.jsonl", "{\"f\":\"a1\"}\nbroken\n")
	writeFile(t, dir, "data/c.jsonl", "{\"f\":\"c1\"}")
	writeFile(t, dir, "data/skip.txt", "{\"f\":\"txt\"}\n")

	src := buildFileSource(t, FileSourceConfig{Path: "data/*.jsonl"}, Env{BaseDir: dir, BatchSize: 100}, 1<<20)
	var c collector
	if err := src.Read(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"f":"a1"}`, `{"f":"b1"}`, `{"f":"b2"}`, `{"f":"c1"}`}
	if got := c.payloads(); !slices.Equal(got, want) {
		t.Fatalf("payloads = %q, want %q", got, want)
	}
	// Line numbers restart with each file.
	var seqs []int64
	for _, r := range c.records() {
		seqs = append(seqs, r.Ack.Seq)
	}
	if want := []int64{1, 1, 2, 1}; !slices.Equal(seqs, want) {
		t.Fatalf("seqs = %v, want %v", seqs, want)
	}
	if len(c.rejects) != 1 || c.rejects[0].origin != filepath.Join(dir, "data/a.jsonl")+":2" {
		t.Fatalf("rejects = %+v, want one at a.jsonl:2", c.rejects)
	}
}

func TestFileSource_Read_AbsolutePathIgnoresBaseDir(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "in.jsonl", "[1]\n")
	src := buildFileSource(t, FileSourceConfig{Path: p}, Env{BaseDir: "/nonexistent"}, 1<<20)
	var c collector
	if err := src.Read(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	if got := c.payloads(); !slices.Equal(got, []string{"[1]"}) {
		t.Fatalf("payloads = %q", got)
	}
}

func TestFileSource_Read_Stdin(t *testing.T) {
	for _, chunk := range chunkSizes {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			in := "{\"a\":1}\r\noops\n\n{\"a\":2}"
			// OneByteReader: a pipe that delivers one byte per read.
			src := buildFileSource(t, FileSourceConfig{Path: "-"}, Env{Stdin: iotest.OneByteReader(strings.NewReader(in)), Name: "in"}, chunk)
			var c collector
			if err := src.Read(context.Background(), &c); err != nil {
				t.Fatal(err)
			}
			if got, want := c.payloads(), []string{`{"a":1}`, `{"a":2}`}; !slices.Equal(got, want) {
				t.Fatalf("payloads = %q, want %q", got, want)
			}
			if len(c.rejects) != 1 || c.rejects[0].origin != "stdin:2" || c.rejects[0].raw != "oops" {
				t.Fatalf("rejects = %+v, want oops at stdin:2", c.rejects)
			}
		})
	}
}

// TestFileSource_Read_SmallReadsShareBuffers checks that a stream delivering
// a few bytes per read (a pipe) does not cost a fresh read buffer per read:
// consecutive lines are sliced out of one buffer.
func TestFileSource_Read_SmallReadsShareBuffers(t *testing.T) {
	var sb strings.Builder
	for i := range 200 {
		fmt.Fprintf(&sb, "{\"i\":%d}\n", i)
	}
	src := buildFileSource(t, FileSourceConfig{Path: "-"}, Env{Stdin: iotest.OneByteReader(strings.NewReader(sb.String()))}, 4096)
	var c collector
	if err := src.Read(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	recs := c.records()
	if len(recs) != 200 {
		t.Fatalf("got %d records, want 200", len(recs))
	}
	adjacent := 0
	for i := 1; i < len(recs); i++ {
		prev, cur := recs[i-1].Payload, recs[i].Payload
		// cur starts right after prev's newline: same buffer.
		if uintptr(unsafe.Pointer(&cur[0])) == uintptr(unsafe.Pointer(&prev[len(prev)-1]))+2 {
			adjacent++
		}
	}
	// 200 lines of <= 10 bytes fit in one 4096-byte buffer.
	if adjacent != len(recs)-1 {
		t.Fatalf("only %d of %d consecutive payloads share a buffer: small reads allocate a buffer each", adjacent, len(recs)-1)
	}
}

func TestFileSource_Read_PayloadAppendDoesNotClobber(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "[1]\n[2]\n[3]\n")
	src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir}, 1<<20)
	var c collector
	if err := src.Read(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	recs := c.records()
	// A stage that appends to a payload must not overwrite the next one.
	_ = append(recs[0].Payload, "XXXXXXXX"...)
	if got := c.payloads(); !slices.Equal(got, []string{"[1]", "[2]", "[3]"}) {
		t.Fatalf("payloads after append to the first = %q", got)
	}
}

func TestFileSource_Read_PayloadsStayValid(t *testing.T) {
	// Records are held across many later buffer refills; none may change.
	var sb strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&sb, "{\"n\":%d,\"pad\":\"%s\"}\n", i, strings.Repeat("p", i%37))
	}
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", sb.String())
	src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir, BatchSize: 64}, 256)
	var c collector
	if err := src.Read(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	got := c.payloads()
	if len(got) != 3000 {
		t.Fatalf("got %d records, want 3000", len(got))
	}
	if !slices.Equal(c.payloadsAtEmit, got) {
		t.Fatal("payloads changed after they were emitted")
	}
	for i, p := range got {
		if want := fmt.Sprintf("{\"n\":%d,\"pad\":\"%s\"}", i, strings.Repeat("p", i%37)); p != want {
			t.Fatalf("record %d = %s, want %s", i, p, want)
		}
	}
	// The lazily parsed JSON of an early record is still right.
	v, err := c.records()[5].JSON()
	if err != nil || v.GetInt("n") != 5 {
		t.Fatalf("record 5 JSON = %v, %v", v, err)
	}
}

func TestFileSource_New_Errors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "[1]\n")
	tests := []struct {
		name    string
		cfg     FileSourceConfig
		env     Env
		wantErr string
		is      error
	}{
		{"missing file", FileSourceConfig{Path: "nope.jsonl"}, Env{BaseDir: dir}, "input file", fs.ErrNotExist},
		{"glob matches nothing", FileSourceConfig{Path: "*.csv"}, Env{BaseDir: dir}, "matches no file", nil},
		{"bad glob", FileSourceConfig{Path: "[x"}, Env{BaseDir: dir}, "bad glob", filepath.ErrBadPattern},
		{"stdin without stdin", FileSourceConfig{Path: "-"}, Env{}, "no standard input", nil},
		{"unknown codec", FileSourceConfig{Path: "in.jsonl", Codec: "csv"}, Env{BaseDir: dir}, `unknown codec "csv"`, nil},
		{"key_field with lines", FileSourceConfig{Path: "in.jsonl", Codec: "lines", KeyField: "a"}, Env{BaseDir: dir}, "key_field needs codec json_lines", nil},
		{"max_line_bytes negative", FileSourceConfig{Path: "in.jsonl", MaxLineBytes: -1}, Env{BaseDir: dir}, "max_line_bytes must be positive", nil},
	}
	spec, _ := Lookup(KindSource, "file")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := spec.NewConfig().(*FileSourceConfig)
			c.Path, c.KeyField = tt.cfg.Path, tt.cfg.KeyField
			if tt.cfg.Codec != "" {
				c.Codec = tt.cfg.Codec
			}
			if tt.cfg.MaxLineBytes != 0 {
				c.MaxLineBytes = tt.cfg.MaxLineBytes
			}
			src, err := BuildSource(spec, c, tt.env)
			if err == nil {
				t.Fatalf("BuildSource = %v, want an error", src)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestFileSourceConfig_Check(t *testing.T) {
	spec, _ := Lookup(KindSource, "file")
	tests := []struct {
		name    string
		mod     func(*FileSourceConfig)
		wantErr string
	}{
		{"defaults", func(*FileSourceConfig) {}, ""},
		{"lines", func(c *FileSourceConfig) { c.Codec = "lines" }, ""},
		{"key field", func(c *FileSourceConfig) { c.KeyField = "a.b" }, ""},
		{"bad codec", func(c *FileSourceConfig) { c.Codec = "xml" }, "unknown codec"},
		{"empty codec", func(c *FileSourceConfig) { c.Codec = "" }, "unknown codec"},
		{"zero max", func(c *FileSourceConfig) { c.MaxLineBytes = 0 }, "max_line_bytes must be positive"},
		{"parse workers", func(c *FileSourceConfig) { c.ParseWorkers = 16 }, ""},
		{"negative parse workers", func(c *FileSourceConfig) { c.ParseWorkers = -1 }, "parse_workers must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := spec.NewConfig().(*FileSourceConfig)
			c.Path = "does-not-matter"
			tt.mod(c)
			err := spec.Check(c)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Check = %v, want nil", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Check = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFileSource_Read_FileRemoved(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "in.jsonl", "[1]\n")
	src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir}, 1<<20)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	err := src.Read(context.Background(), &collector{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "input file") {
		t.Fatalf("Read = %v, want an input file error wrapping fs.ErrNotExist", err)
	}
}

func TestFileSource_Read_ReaderError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("[1]\n[2]\n"), iotest.ErrReader(errDisk))
	src := buildFileSource(t, FileSourceConfig{Path: "-"}, Env{Stdin: r, BatchSize: 1}, 1<<20)
	var c collector
	err := src.Read(context.Background(), &c)
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "read stdin") {
		t.Fatalf("Read = %v, want read stdin: wrapping errDisk", err)
	}
	if got := c.payloads(); !slices.Equal(got, []string{"[1]", "[2]"}) {
		t.Fatalf("payloads before the error = %q", got)
	}
}

func TestFileSource_Read_ContextCancel(t *testing.T) {
	var sb strings.Builder
	for i := range 100 {
		fmt.Fprintf(&sb, "[%d]\n", i)
	}
	tests := []struct {
		name      string
		ignoreCtx bool // an Emitter that does not itself check ctx
	}{
		{"emitter checks ctx", false},
		{"source checks ctx", true},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", tt.name, workers), func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, dir, "a.jsonl", sb.String())
				writeFile(t, dir, "b.jsonl", sb.String())
				src := buildFileSource(t, FileSourceConfig{Path: "*.jsonl", ParseWorkers: workers}, Env{BaseDir: dir, BatchSize: 10}, 64)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				c := collector{ignoreCtx: tt.ignoreCtx, afterEmit: func(c *collector) {
					if len(c.batches) == 2 {
						cancel()
					}
				}}
				err := src.Read(ctx, &c)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Read = %v, want context.Canceled", err)
				}
				if len(c.batches) != 2 {
					t.Fatalf("%d batches emitted, want 2 (Read went on after cancel)", len(c.batches))
				}
			})
		}
	}
}

func TestFileSource_Read_CancelledBeforeStart(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "[1]\n")
	src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir}, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := collector{ignoreCtx: true}
	if err := src.Read(ctx, &c); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want context.Canceled", err)
	}
	if len(c.batches) != 0 {
		t.Fatalf("emitted %d batches after cancel", len(c.batches))
	}
}

// lineResult is one lineReader.next result.
type lineResult struct {
	line    string
	no      int64
	tooLong bool
}

// readAllLines drains a lineReader.
func readAllLines(t testing.TB, r io.Reader, chunk, max int) []lineResult {
	t.Helper()
	lr := lineReader{r: r, chunk: chunk, max: max}
	var out []lineResult
	for {
		line, no, err := lr.next()
		if err == io.EOF {
			if line != nil {
				t.Fatalf("line %q returned with io.EOF", line)
			}
			// EOF is sticky.
			if _, _, err := lr.next(); err != io.EOF {
				t.Fatalf("next after EOF = %v", err)
			}
			return out
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			t.Fatalf("next: %v", err)
		}
		if cap(line) != len(line) {
			t.Fatalf("line %q has spare capacity", line)
		}
		out = append(out, lineResult{string(line), no, err != nil})
	}
}

// modelLines is the documented behaviour of lineReader: split at \n, drop a
// last empty piece, trim one trailing \r, and cut lines longer than max to
// their first max bytes, flagged as too long. Line numbers count every line.
func modelLines(in string, max int) []lineResult {
	if in == "" {
		return nil
	}
	parts := strings.Split(in, "\n")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	out := make([]lineResult, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSuffix(p, "\r")
		r := lineResult{line: p, no: int64(i + 1)}
		if len(p) > max {
			r.line, r.tooLong = p[:max], true
		}
		out = append(out, r)
	}
	return out
}

func TestLineReader_Next(t *testing.T) {
	tests := []struct {
		name  string
		input string
		max   int
	}{
		{"empty", "", 10},
		{"one newline", "\n", 10},
		{"only newlines", "\n\n\n", 10},
		{"no trailing newline", "a\nbb", 10},
		{"crlf", "a\r\nb\r\n", 10},
		{"lone cr kept inside", "a\rb\n\r\r\n", 10},
		{"exactly max", "abcd\nabcde\n", 4},
		{"exactly max then cr", "abcd\r\nabcd\r", 4},
		{"over max then cr", "abcde\r\n", 4},
		{"long then short", strings.Repeat("x", 100) + "\nok\n", 4},
		{"long at eof", "ok\n" + strings.Repeat("x", 100), 4},
		{"max 1", "ab\na\n\nabc", 1},
	}
	for _, tt := range tests {
		for _, chunk := range chunkSizes {
			for _, reader := range []struct {
				name string
				wrap func(io.Reader) io.Reader
			}{
				{"full", func(r io.Reader) io.Reader { return r }},
				{"onebyte", iotest.OneByteReader},
				{"half", iotest.HalfReader},
				{"dataerr", iotest.DataErrReader},
			} {
				t.Run(fmt.Sprintf("%s/%d/%s", tt.name, chunk, reader.name), func(t *testing.T) {
					got := readAllLines(t, reader.wrap(strings.NewReader(tt.input)), chunk, tt.max)
					if want := modelLines(tt.input, tt.max); !slices.Equal(got, want) {
						t.Fatalf("lines = %+v\nwant    %+v", got, want)
					}
				})
			}
		}
	}
}

// chunkedReader returns at most n bytes per Read.
type chunkedReader struct {
	r io.Reader
	n int
}

func (c chunkedReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func FuzzLineReader(f *testing.F) {
	seeds := []string{
		"", "\n", "a", "a\n", "a\r\n", "\r", "\r\n\r\n", "ab\ncd\r\nef",
		"{\"a\":1}\n{\"a\":2}\n", strings.Repeat("x", 40) + "\nshort\n" + strings.Repeat("y", 9),
		"abcd\r\nabcde\r\nabcdef\r",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i%7+1), uint8(i%5+1), uint8(i%3+1))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk, max, readSize uint8) {
		c, m, n := int(chunk%64)+1, int(max%64)+1, int(readSize%16)+1
		got := readAllLines(t, chunkedReader{bytes.NewReader(in), n}, c, m)
		want := modelLines(string(in), m)
		if !slices.Equal(got, want) {
			t.Fatalf("chunk %d max %d read %d: lines = %+v\nwant %+v", c, m, n, got, want)
		}
		// Without over-long lines, bufio.ScanLines is an independent oracle:
		// it also drops one \r before each \n and the final empty line.
		for _, l := range want {
			if l.tooLong {
				return
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(in))
		sc.Buffer(nil, len(in)+1)
		var i int
		for sc.Scan() {
			if i >= len(got) || got[i].line != sc.Text() {
				t.Fatalf("line %d: bufio.Scanner has %q, lineReader %+v", i+1, sc.Text(), got)
			}
			i++
		}
		if err := sc.Err(); err != nil || i != len(got) {
			t.Fatalf("bufio.Scanner: %d lines, err %v; lineReader: %d lines", i, err, len(got))
		}
	})
}

// benchInput writes n JSON lines of about 100 bytes.
func benchInput(b *testing.B, n int) (dir string, size int64) {
	b.Helper()
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"id":%d,"user_id":"u%d","type":"click","active":true,"amount":%d.25,"ts":1700000000%03d,"pad":"xxxxxxxx"}`+"\n", i, i%1000, i%10000, i%1000)
	}
	dir = b.TempDir()
	writeFile(b, dir, "in.jsonl", sb.String())
	return dir, int64(sb.Len())
}

// countingEmitter counts records and releases them, as the engine does when
// a record's path ends, so that parsers are recycled as in a pipeline.
type countingEmitter struct{ n int }

func (c *countingEmitter) Emit(_ context.Context, batch []*record.Record) error {
	c.n += len(batch)
	for _, r := range batch {
		r.Release()
	}
	return nil
}

func (c *countingEmitter) Reject(context.Context, []byte, string, error) error { return nil }

// BenchmarkFileSource_Read reads one 100,000-line file. workers=1 is the
// one-goroutine path; workers=auto is the default (GOMAXPROCS workers, the
// one-goroutine path at GOMAXPROCS 1); workers=2+ forces the parallel path
// with max(2, GOMAXPROCS) workers, which at GOMAXPROCS 1 shows what its
// hand-offs cost. cpu-ns/record is the process's CPU time (all threads,
// the garbage collector included) per record.
//
//	go test -run '^$' -bench FileSource -benchmem -cpu 1,2 ./connectors/
func BenchmarkFileSource_Read(b *testing.B) {
	const lines = 100_000
	dir, size := benchInput(b, lines)
	for _, bc := range []struct {
		name, codec, key string
	}{
		{"json_lines", codecJSONLines, ""},
		{"json_lines_key", codecJSONLines, "user_id"},
		{"lines", codecLines, ""},
	} {
		for _, w := range []struct {
			name    string
			workers int
		}{{"1", 1}, {"auto", 0}, {"2+", max(2, runtime.GOMAXPROCS(0))}} {
			b.Run(bc.name+"/workers="+w.name, func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				// b.N, not b.Loop: with b.Loop the whole measurement happens
				// in the first run, before -cpu's first GOMAXPROCS is set
				// (golang/go#49980), so "-cpu 1" would measure at the default.
				cpu0 := processCPU()
				for range b.N {
					src := buildFileSource(b, FileSourceConfig{Path: "in.jsonl", Codec: bc.codec, KeyField: bc.key, ParseWorkers: w.workers}, Env{BaseDir: dir}, 1<<20)
					var c countingEmitter
					if err := src.Read(context.Background(), &c); err != nil {
						b.Fatal(err)
					}
					if c.n != lines {
						b.Fatalf("read %d records, want %d", c.n, lines)
					}
				}
				b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
				if cpu := processCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(lines*b.N), "cpu-ns/record")
				}
			})
		}
	}
}

// chanEmitter hands each emitted batch to a channel.
type chanEmitter struct{ ch chan []*record.Record }

func (e chanEmitter) Emit(_ context.Context, b []*record.Record) error { e.ch <- b; return nil }
func (e chanEmitter) Reject(context.Context, []byte, string, error) error {
	return nil
}

// TestFileSource_Read_PipeFlushesBeforeBlocking: on a pipe that goes quiet,
// the lines already read are emitted without waiting for a full batch.
func TestFileSource_Read_PipeFlushesBeforeBlocking(t *testing.T) {
	pr, pw := io.Pipe()
	src := buildFileSource(t, FileSourceConfig{Path: "-"}, Env{Stdin: pr, BatchSize: 1024}, 1<<20)
	em := chanEmitter{ch: make(chan []*record.Record, 4)}
	done := make(chan error, 1)
	go func() { done <- src.Read(context.Background(), em) }()
	fmt.Fprint(pw, "{\"a\":1}\n{\"a\":2}\n")
	select {
	case b := <-em.ch:
		got := 0
		for _, r := range b {
			if len(r.Payload) > 0 {
				got++
			}
		}
		for got < 2 {
			b = <-em.ch
			got += len(b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lines read from a quiet pipe were not emitted")
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
