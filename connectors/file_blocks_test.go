package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// skipCollector is a collector that also counts skipped lines by reason,
// as an engine implementing SkipCounter does.
type skipCollector struct {
	collector
	skipped map[string]int
}

func (c *skipCollector) Skipped(n int, why string) {
	if n <= 0 {
		panic(fmt.Sprintf("Skipped(%d, %q): n must be positive", n, why))
	}
	if c.skipped == nil {
		c.skipped = map[string]int{}
	}
	c.skipped[why] += n
}

var _ SkipCounter = (*skipCollector)(nil)

// traceEmitter writes down every Emit and Reject call in order, with each
// record's payload, line number, key and marks, so that two read paths can
// be compared call for call. Skipped lines are summed: when they are
// reported is not part of the contract.
type traceEmitter struct {
	calls  []call
	blanks int
}

// call is one Emit (recs) or Reject (origin, raw, err).
type call struct {
	recs             []traced
	origin, raw, err string
}

type traced struct {
	payload string
	seq     int64
	key     string
	valid   bool // marked valid JSON
	source  string
	odd     bool // spare capacity after the payload, or an event time
}

func (c call) String() string {
	if c.recs == nil {
		return fmt.Sprintf("reject %s %q: %s", c.origin, c.raw, c.err)
	}
	var sb strings.Builder
	sb.WriteString("emit")
	for _, r := range c.recs {
		fmt.Fprintf(&sb, " %q@%d", r.payload, r.seq)
		if r.key != "" || !r.valid || r.source != "src" || r.odd {
			fmt.Fprintf(&sb, "(key=%q valid=%t source=%q odd=%t)", r.key, r.valid, r.source, r.odd)
		}
	}
	return sb.String()
}

func (e *traceEmitter) Emit(_ context.Context, batch []*record.Record) error {
	c := call{recs: make([]traced, 0, len(batch))}
	for _, r := range batch {
		c.recs = append(c.recs, traced{
			payload: string(r.Payload), seq: r.Ack.Seq, key: r.Key, valid: r.JSONValidated(), source: r.Source,
			odd: cap(r.Payload) != len(r.Payload) || r.EventTime != record.NoEventTime,
		})
		r.Release() // recycles the parser of a key_field read, as the engine does
	}
	e.calls = append(e.calls, c)
	return nil
}

func (e *traceEmitter) Reject(_ context.Context, raw []byte, origin string, err error) error {
	e.calls = append(e.calls, call{origin: origin, raw: string(raw), err: err.Error()})
	return nil
}

func (e *traceEmitter) Skipped(n int, why string) {
	if n <= 0 || why != skipBlank {
		panic(fmt.Sprintf("Skipped(%d, %q)", n, why))
	}
	e.blanks += n
}

// seqs returns the line numbers of the records and of the rejects.
func (e *traceEmitter) seqs() (recs []int64, rejects []int64) {
	for _, c := range e.calls {
		if c.recs == nil {
			_, no, _ := strings.Cut(c.origin, ":")
			var l int64
			fmt.Sscanf(no, "%d", &l)
			rejects = append(rejects, l)
		}
		for _, r := range c.recs {
			recs = append(recs, r.seq)
		}
	}
	return recs, rejects
}

// testSource builds a file source for the read functions to be called on
// directly, with any reader.
func testSource(t testing.TB, cfg FileSourceConfig, batch int) *fileSource {
	t.Helper()
	cfg.Path = "-"
	if cfg.Codec == "" {
		cfg.Codec = codecJSONLines
	}
	if cfg.MaxLineBytes == 0 {
		cfg.MaxLineBytes = 1 << 20
	}
	s, err := newFileSource(&cfg, Env{Stdin: strings.NewReader(""), BatchSize: batch, Name: "src"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// traceSeq reads in with the one-goroutine path.
func traceSeq(t testing.TB, s *fileSource, in []byte) *traceEmitter {
	t.Helper()
	var e traceEmitter
	if err := s.readSeq(context.Background(), &e, bytes.NewReader(in), "in", false); err != nil {
		t.Fatalf("readSeq: %v", err)
	}
	return &e
}

// traceParallel reads in with the parallel path.
func traceParallel(t testing.TB, s *fileSource, r io.Reader, workers int) *traceEmitter {
	t.Helper()
	var e traceEmitter
	if err := s.readParallel(context.Background(), &e, r, "in", workers); err != nil {
		t.Fatalf("readParallel: %v", err)
	}
	return &e
}

func diffTraces(t testing.TB, got, want *traceEmitter) {
	t.Helper()
	if got.blanks != want.blanks {
		t.Errorf("blank lines: parallel %d, sequential %d", got.blanks, want.blanks)
	}
	for i := range max(len(got.calls), len(want.calls)) {
		var g, w call
		if i < len(got.calls) {
			g = got.calls[i]
		}
		if i < len(want.calls) {
			w = want.calls[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("call %d of %d/%d differs:\nparallel   %.600s\nsequential %.600s", i, len(got.calls), len(want.calls), g.String(), w.String())
		}
	}
}

// genLines makes n JSON lines of varied lengths, with malformed lines,
// blank lines and CRLF endings mixed in; it returns the input and the line
// numbers of the malformed lines.
func genLines(n int, seed uint64) (in []byte, malformed []int64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	pad := strings.Repeat("x", 300)
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		switch {
		case rng.IntN(97) == 0:
			fmt.Fprintf(&b, "{\"id\":%d,\"broken\":", i)
			malformed = append(malformed, int64(i))
		case rng.IntN(101) == 0:
			b.WriteString(strings.Repeat(" ", rng.IntN(3)))
		default:
			fmt.Fprintf(&b, "{\"id\":%d,\"user\":\"u%d\",\"pad\":\"%s\"}", i, rng.IntN(50), pad[:rng.IntN(300)])
		}
		if rng.IntN(7) == 0 {
			b.WriteByte('\r')
		}
		if i < n {
			b.WriteByte('\n')
		}
	}
	return b.Bytes(), malformed
}

func TestFileSource_ReadParallel_OrderAcrossManyBlocks(t *testing.T) {
	n := 200_000
	if raceEnabled {
		n = 40_000
	}
	in, malformed := genLines(n, 7)
	s := testSource(t, FileSourceConfig{}, 1000)
	want := traceSeq(t, s, in)
	// About 7,000 blocks of 4 KiB and jobs of at most about 8 lines.
	s.chunk, s.blockLines = 4093, 8
	got := traceParallel(t, s, bytes.NewReader(in), 4)
	diffTraces(t, got, want)

	// Independently of the sequential path: every line is accounted for,
	// in order, and the malformed ones are rejected with their numbers.
	seqs, rejected := got.seqs()
	if !slices.Equal(rejected, malformed) {
		t.Fatalf("rejected lines %v..., want %v...", rejected[:min(5, len(rejected))], malformed[:5])
	}
	if len(seqs)+len(rejected)+got.blanks != n {
		t.Fatalf("%d records + %d rejects + %d blanks, want %d lines", len(seqs), len(rejected), got.blanks, n)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("record %d is line %d, after line %d", i, seqs[i], seqs[i-1])
		}
	}
}

// TestFileSource_ReadParallel_RejectsAtBlockBoundaries moves the block
// boundary over every byte of the input: malformed and over-long lines keep
// their line numbers wherever the blocks are cut.
func TestFileSource_ReadParallel_RejectsAtBlockBoundaries(t *testing.T) {
	lines := []string{
		`{"a":1}`, `{"a":`, ``, `[1,2]`, `not json`, `{"long":"` + strings.Repeat("z", 40) + `"}`,
		`{"b":2}`, "\r", `{"c":`, `{"d":4}`, `}`, `"s"`,
	}
	in := strings.Join(lines, "\n")
	wantRejects := []string{
		`reject in:2 "{\"a\":"`, `reject in:5 "not json"`, `reject in:6 "{\"long\":\"zzzzzzzzzzz"`,
		`reject in:9 "{\"c\":"`, `reject in:11 "}"`,
	}
	wantSeqs := []int64{1, 4, 7, 10, 12}
	for chunk := 1; chunk <= len(in)+1; chunk++ {
		for _, blockLines := range []int{1, 3, 1 << 14} {
			s := testSource(t, FileSourceConfig{MaxLineBytes: 20}, 2)
			s.chunk, s.blockLines = chunk, blockLines
			got := traceParallel(t, s, bytes.NewReader([]byte(in)), 3)
			var rejects []string
			for _, c := range got.calls {
				if c.recs == nil {
					rejects = append(rejects, fmt.Sprintf("reject %s %q", c.origin, c.raw))
				}
			}
			seqs, _ := got.seqs()
			if !slices.Equal(rejects, wantRejects) || !slices.Equal(seqs, wantSeqs) || got.blanks != 2 {
				t.Fatalf("chunk %d blockLines %d: rejects %q, records at %v, %d blanks; want %q, %v, 2",
					chunk, blockLines, rejects, seqs, got.blanks, wantRejects, wantSeqs)
			}
			s.chunk = max(1, chunk/2)
			diffTraces(t, got, traceSeq(t, s, []byte(in)))
		}
	}
}

func TestFileSource_ReadParallel_LineLongerThanBlock(t *testing.T) {
	long := `{"s":"` + strings.Repeat("y", 5000) + `"}`
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string // calls
		wantSeq int64
	}{
		{
			name: "grows the block",
			in:   "[1]\n" + long + "\r\n[3]",
			max:  1 << 20,
			want: []string{`emit "[1]"@1`, `emit "` + strings.ReplaceAll(long, `"`, `\"`) + `"@2`, `emit "[3]"@3`},
		},
		{
			name: "over-long is cut and the rest skipped",
			in:   "[1]\n" + long + "\n[3]\n" + long + "\r\n" + long,
			max:  100,
			want: []string{
				`emit "[1]"@1`, `reject in:2 "{\"s\":\"yyyy`, `emit "[3]"@3`, `reject in:4 "{\"s\":\"yyyy`, `reject in:5 "{\"s\":\"yyyy`,
			},
		},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 7, 64, 4096} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, chunk), func(t *testing.T) {
				s := testSource(t, FileSourceConfig{MaxLineBytes: tt.max}, 1)
				s.chunk = chunk
				got := traceParallel(t, s, bytes.NewReader([]byte(tt.in)), 2)
				if len(got.calls) != len(tt.want) {
					t.Fatalf("calls %.300s, want %.300q", got.calls, tt.want)
				}
				for i, w := range tt.want {
					if g := got.calls[i].String(); !strings.HasPrefix(g, w) {
						t.Fatalf("call %d = %.200s, want it to start with %.200s", i, g, w)
					}
				}
				diffTraces(t, got, traceSeq(t, s, []byte(tt.in)))
			})
		}
	}
}

// FuzzParallelSplit: the parallel path yields exactly the Emit and Reject
// calls of the sequential one, and the same count of blank lines, for any
// input, block size, job size, line limit, batch size, codec and number of
// workers; short reads make no difference.
func FuzzParallelSplit(f *testing.F) {
	seeds := []string{
		"", "\n", "\r", "\r\n", "a", "[1]\n[2]", "{\"a\":1}\n\n  \n{\"a\":\n[3]\r\n",
		strings.Repeat("x", 40) + "\n[1]\n" + strings.Repeat("y", 9) + "\r\n\"s\"\r",
		"{\"k\":\"a\"}\n{\"k\":7}\n{}\n", "\xff\xfe\n[1]\n\t\r\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i), uint8(i*7), uint8(i*3), uint8(i))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk, maxLine, blockLines, opts uint8) {
		cfg := FileSourceConfig{MaxLineBytes: int(maxLine%48) + 1}
		if opts&1 != 0 {
			cfg.Codec = codecLines
		} else if opts&2 != 0 {
			cfg.KeyField = "k"
		}
		s := testSource(t, cfg, int(opts>>2%4)+1)
		s.chunk = int(chunk%64) + 1
		want := traceSeq(t, s, in)
		s.blockLines = int(blockLines%16) + 1
		var r io.Reader = bytes.NewReader(in)
		if opts&0x10 != 0 {
			r = chunkedReader{r, int(chunk%5) + 1}
		}
		got := traceParallel(t, s, r, int(opts>>5%3)+2)
		diffTraces(t, got, want)
	})
}

func TestFileSource_Read_FileShrinks(t *testing.T) {
	var sb strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&sb, "{\"i\":%d}\n", i)
	}
	size := int64(sb.Len())
	tests := []struct {
		name    string
		cutTo   int64
		workers int
	}{
		{"to half/one goroutine", size / 2, 1},
		{"to half/parallel", size / 2, 3},
		{"to nothing/one goroutine", 0, 1},
		{"to nothing/parallel", 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "in.jsonl", sb.String())
			// The reader runs at most a few 1 KiB blocks ahead of the
			// first Emit, far from the cut.
			src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl", ParseWorkers: tt.workers}, Env{BaseDir: dir, BatchSize: 10}, 1024)
			c := collector{afterEmit: func(c *collector) {
				if len(c.batches) == 1 {
					if err := os.Truncate(p, tt.cutTo); err != nil {
						t.Error(err)
					}
				}
			}}
			err := src.Read(context.Background(), &c)
			if !errors.Is(err, ErrFileShrank) {
				t.Fatalf("Read = %v, want ErrFileShrank", err)
			}
			for _, w := range []string{p, fmt.Sprintf("%d bytes when opened, %d bytes now", size, tt.cutTo)} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := len(c.records()); n >= 20_000 {
				t.Errorf("%d records read from a cut file", n)
			}
		})
	}
}

func TestFileSource_Read_FileGrows(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "in.jsonl", strings.Repeat("[1]\n", 5000))
			src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl", ParseWorkers: workers}, Env{BaseDir: dir, BatchSize: 10}, 1024)
			c := collector{afterEmit: func(c *collector) {
				if len(c.batches) == 1 {
					f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
					if err != nil {
						t.Error(err)
						return
					}
					f.WriteString(strings.Repeat("[2]\n", 100))
					f.Close()
				}
			}}
			// A file that grows is read to its new end, as before.
			if err := src.Read(context.Background(), &c); err != nil {
				t.Fatalf("Read = %v", err)
			}
			if n := len(c.records()); n != 5100 {
				t.Fatalf("%d records, want 5100", n)
			}
		})
	}
}

// TestFileSource_Read_StdinRegularFile: standard input redirected from a
// file is read like a file, on several workers.
func TestFileSource_Read_StdinRegularFile(t *testing.T) {
	in, malformed := genLines(3000, 3)
	dir := t.TempDir()
	p := writeFile(t, dir, "in.jsonl", string(in))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src := buildFileSource(t, FileSourceConfig{Path: "-", ParseWorkers: 3}, Env{Stdin: f, BatchSize: 100, Name: "src"}, 1000)
	var got traceEmitter
	if err := src.Read(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	s := testSource(t, FileSourceConfig{}, 100)
	want := traceSeq(t, s, in)
	for i := range want.calls {
		if c := &want.calls[i]; c.origin != "" {
			c.origin = "stdin" + strings.TrimPrefix(c.origin, "in")
		}
	}
	diffTraces(t, &got, want)
	if _, rejected := got.seqs(); len(rejected) != len(malformed) {
		t.Fatalf("%d rejects, want %d", len(rejected), len(malformed))
	}
}
