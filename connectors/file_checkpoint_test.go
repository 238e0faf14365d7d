package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// memCheckpoints is an in-memory Checkpoints.
type memCheckpoints struct {
	mu    sync.Mutex
	state []byte
	saves int
}

func (m *memCheckpoints) Load() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.state), nil
}

func (m *memCheckpoints) Save(b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state, m.saves = bytes.Clone(b), m.saves+1
	return nil
}

func (m *memCheckpoints) decode(t *testing.T) sourceState {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var st sourceState
	if err := json.Unmarshal(m.state, &st); err != nil {
		t.Fatalf("saved state %q: %v", m.state, err)
	}
	return st
}

// ackEmitter plays the engine's part in acknowledgements: every record
// (and every rejected line, through RecordRejecter) is attached to an
// engine group and ended with the outcome outcome(line) returns; 0 leaves
// it pending (still in flight when the run stops).
type ackEmitter struct {
	mu      sync.Mutex
	outcome func(line int64) record.Outcome
	engine  countingGroup
	seqs    []int64  // lines of the records, in order
	rejects []string // origins of the rejects
	plain   int      // rejects through Reject (no Ack)
}

func (e *ackEmitter) Emit(ctx context.Context, batch []*record.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range batch {
		e.end(r)
		e.mu.Lock()
		e.seqs = append(e.seqs, r.Ack.Seq)
		e.mu.Unlock()
	}
	return nil
}

func (e *ackEmitter) end(r *record.Record) {
	r.Ack.Attach(&e.engine)
	o := record.Delivered
	if e.outcome != nil {
		o = e.outcome(r.Ack.Seq)
	}
	if o != 0 {
		r.Ack.End(o)
	}
}

func (e *ackEmitter) Reject(ctx context.Context, raw []byte, origin string, err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.plain++
	e.rejects = append(e.rejects, origin)
	return ctx.Err()
}

func (e *ackEmitter) RejectRecord(ctx context.Context, rec *record.Record, err error) error {
	e.end(rec)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rejects = append(e.rejects, rec.Origin)
	return ctx.Err()
}

var _ RecordRejecter = (*ackEmitter)(nil)

// checkpointInput: 40 lines, line l is {"n":l} except blank lines (every
// 7th) and malformed ones (every 11th), so resumes land among all kinds.
func checkpointInput(n int) (string, []int64) {
	var sb strings.Builder
	var offs []int64 // offs[l-1] = start of line l
	for l := 1; l <= n; l++ {
		offs = append(offs, int64(sb.Len()))
		switch {
		case l%7 == 0:
			sb.WriteString("  \n")
		case l%11 == 0:
			fmt.Fprintf(&sb, "{bad %d\n", l)
		default:
			fmt.Fprintf(&sb, "{\"n\":%d}\n", l)
		}
	}
	return sb.String(), offs
}

// runCheckpointed reads the source once with em and closes it, as the
// engine does.
func runCheckpointed(t *testing.T, dir, path string, workers int, cp Checkpoints, em *ackEmitter, log *slog.Logger) {
	t.Helper()
	src := buildFileSource(t, FileSourceConfig{Path: path, ParseWorkers: workers}, Env{BaseDir: dir, BatchSize: 4, Name: "src", Checkpoints: cp, Logger: log}, 64)
	if err := src.Read(context.Background(), em); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFileSource_Checkpoint_Resume: a run whose records from line 24 on
// are not acknowledged (24 is still in flight, later lines are done)
// saves the start of line 24; the next run reads from there, numbering
// lines (and dead-letter origins) as in the file.
func TestFileSource_Checkpoint_Resume(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			dir := t.TempDir()
			in, offs := checkpointInput(40)
			p := writeFile(t, dir, "in.jsonl", in)
			cp := &memCheckpoints{}
			first := &ackEmitter{outcome: func(l int64) record.Outcome {
				if l == 24 {
					return 0
				}
				return record.Delivered
			}}
			runCheckpointed(t, dir, "in.jsonl", workers, cp, first, nil)
			st := cp.decode(t)
			fs := st.Files[p]
			if fs == nil || fs.Offset != offs[23] || fs.Line != 23 {
				t.Fatalf("saved %+v, want offset %d line 23", fs, offs[23])
			}
			second := &ackEmitter{}
			runCheckpointed(t, dir, "in.jsonl", workers, cp, second, nil)
			var want []int64
			for l := int64(24); l <= 40; l++ {
				if l%7 != 0 && l%11 != 0 {
					want = append(want, l)
				}
			}
			if fmt.Sprint(second.seqs) != fmt.Sprint(want) {
				t.Errorf("resumed records at lines %v, want %v", second.seqs, want)
			}
			if got, w := fmt.Sprint(second.rejects), fmt.Sprintf("[%[1]s:33]", p); got != w {
				t.Errorf("resumed rejects %s, want %s", got, w)
			}
			if second.plain != 0 {
				t.Errorf("%d rejects without an Ack", second.plain)
			}
			fs = cp.decode(t).Files[p]
			if fs.Offset != int64(len(in)) || fs.Line != 40 {
				t.Errorf("after the second run: %+v, want the end (%d, 40)", fs, len(in))
			}
			third := &ackEmitter{}
			runCheckpointed(t, dir, "in.jsonl", workers, cp, third, nil)
			if len(third.seqs)+len(third.rejects) != 0 {
				t.Errorf("a complete file was read again: %v %v", third.seqs, third.rejects)
			}
		})
	}
}

// A reject that is not yet acknowledged holds the prefix like a record.
func TestFileSource_Checkpoint_RejectHoldsPrefix(t *testing.T) {
	dir := t.TempDir()
	in, offs := checkpointInput(40)
	p := writeFile(t, dir, "in.jsonl", in)
	cp := &memCheckpoints{}
	em := &ackEmitter{outcome: func(l int64) record.Outcome {
		if l == 22 { // malformed
			return 0
		}
		return record.Delivered
	}}
	runCheckpointed(t, dir, "in.jsonl", 1, cp, em, nil)
	if fs := cp.decode(t).Files[p]; fs.Offset != offs[21] || fs.Line != 21 {
		t.Fatalf("saved %+v, want line 21 at %d", fs, offs[21])
	}
}

func TestFileSource_Checkpoint_UnprocessedStops(t *testing.T) {
	dir := t.TempDir()
	in, offs := checkpointInput(40)
	p := writeFile(t, dir, "in.jsonl", in)
	cp := &memCheckpoints{}
	em := &ackEmitter{outcome: func(l int64) record.Outcome {
		if l == 5 {
			return record.Unprocessed
		}
		return record.Delivered
	}}
	runCheckpointed(t, dir, "in.jsonl", 1, cp, em, nil)
	if fs := cp.decode(t).Files[p]; fs.Offset != offs[4] || fs.Line != 4 {
		t.Fatalf("saved %+v, want line 4 at %d", fs, offs[4])
	}
}

// A file that is not the checkpointed one (another inode, or the same
// inode rewritten, or shorter than the offset) is read from its start.
func TestFileSource_Checkpoint_IdentityMismatch(t *testing.T) {
	replace := map[string]func(t *testing.T, p string){
		"renamed_over": func(t *testing.T, p string) {
			tmp := p + ".new"
			in, _ := checkpointInput(40)
			if err := os.WriteFile(tmp, []byte(in), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		},
		"rewritten": func(t *testing.T, p string) {
			in, _ := checkpointInput(40)
			in = strings.Replace(in, `{"n":1}`, `{"n":9}`, 1) // same length, same inode
			if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"truncated": func(t *testing.T, p string) {
			in, _ := checkpointInput(10)
			if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, change := range replace {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in, _ := checkpointInput(40)
			p := writeFile(t, dir, "in.jsonl", in)
			cp := &memCheckpoints{}
			runCheckpointed(t, dir, "in.jsonl", 1, cp, &ackEmitter{outcome: func(l int64) record.Outcome {
				if l >= 30 {
					return 0
				}
				return record.Delivered
			}}, nil)
			if fs := cp.decode(t).Files[p]; fs.Line != 29 {
				t.Fatalf("saved %+v, want line 29", fs)
			}
			change(t, p)
			var logs bytes.Buffer
			em := &ackEmitter{}
			runCheckpointed(t, dir, "in.jsonl", 1, cp, em, slog.New(slog.NewTextHandler(&logs, nil)))
			if len(em.seqs) == 0 || em.seqs[0] != 1 {
				t.Fatalf("after %s: first record at line %v, want 1", name, em.seqs[:min(1, len(em.seqs))])
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "not the one checkpointed") {
				t.Errorf("no warning logged: %s", logs.String())
			}
		})
	}
}

// An appended file resumes with the new lines only.
func TestFileSource_Checkpoint_Appended(t *testing.T) {
	dir := t.TempDir()
	in, _ := checkpointInput(40)
	writeFile(t, dir, "in.jsonl", in)
	cp := &memCheckpoints{}
	runCheckpointed(t, dir, "in.jsonl", 4, cp, &ackEmitter{}, nil)
	f, err := os.OpenFile(filepath.Join(dir, "in.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "{\"n\":41}\n{\"n\":42}\n")
	f.Close()
	em := &ackEmitter{}
	runCheckpointed(t, dir, "in.jsonl", 4, cp, em, nil)
	if fmt.Sprint(em.seqs) != "[41 42]" {
		t.Fatalf("after append: lines %v, want [41 42]", em.seqs)
	}
}

// Globs keep one entry per file: a complete file is skipped, a partial
// one resumed, a new one read from its start.
func TestFileSource_Checkpoint_Glob(t *testing.T) {
	dir := t.TempDir()
	in, offs := checkpointInput(40)
	a := writeFile(t, dir, "a.jsonl", in)
	b := writeFile(t, dir, "b.jsonl", in)
	cp := &memCheckpoints{}
	// Line 10 of b is still in flight when the run stops.
	src := buildFileSource(t, FileSourceConfig{Path: "*.jsonl", ParseWorkers: 1}, Env{BaseDir: dir, BatchSize: 4, Name: "src", Checkpoints: cp}, 64)
	em := &ackEmitter{}
	seen := 0
	em.outcome = func(l int64) record.Outcome {
		seen++
		// a has 32 records and 3 rejects; b's line 10 comes after them.
		if seen > 35 && l == 10 {
			return 0
		}
		return record.Delivered
	}
	if err := src.Read(context.Background(), em); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	st := cp.decode(t)
	if fs := st.Files[a]; fs.Offset != int64(len(in)) || fs.Line != 40 {
		t.Errorf("a: %+v, want complete", fs)
	}
	if fs := st.Files[b]; fs.Offset != offs[9] || fs.Line != 9 {
		t.Errorf("b: %+v, want line 9", fs)
	}
	c := writeFile(t, dir, "c.jsonl", "{\"n\":1}\n")
	em = &ackEmitter{}
	runCheckpointed(t, dir, "*.jsonl", 1, cp, em, nil)
	want := []int64{10, 12, 13, 15, 16, 17, 18, 19, 20, 23, 24, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 38, 39, 40, 1}
	if fmt.Sprint(em.seqs) != fmt.Sprint(want) {
		t.Errorf("third run: lines %v, want %v (b from 10, then c)", em.seqs, want)
	}
	if fs := cp.decode(t).Files[c]; fs == nil || fs.Line != 1 {
		t.Errorf("c: %+v", fs)
	}
}

// checkpoint_records saves before the interval is up.
func TestFileSource_Checkpoint_RecordsTrigger(t *testing.T) {
	dir := t.TempDir()
	in, _ := checkpointInput(40)
	writeFile(t, dir, "in.jsonl", in)
	cp := &memCheckpoints{}
	src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl", ParseWorkers: 1}, Env{BaseDir: dir, BatchSize: 4, Name: "src", Checkpoints: cp}, 64)
	src.ckInterval = time.Hour
	src.cfg.CheckpointRecords = 5
	block := make(chan struct{})
	em := &ackEmitter{}
	done := make(chan error, 1)
	go func() {
		// Read would save at its end: hold it in the last Emit until a
		// save was seen.
		done <- src.Read(context.Background(), &holdLast{ackEmitter: em, at: 36, block: block})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp.mu.Lock()
		n := cp.saves
		cp.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no save after 5 acknowledged records")
		}
		time.Sleep(time.Millisecond)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	src.Close()
}

// holdLast blocks the Emit of the batch holding line at until block is
// closed.
type holdLast struct {
	*ackEmitter
	at    int64
	block chan struct{}
}

func (h *holdLast) Emit(ctx context.Context, batch []*record.Record) error {
	for _, r := range batch {
		if r.Ack.Seq == h.at {
			<-h.block
		}
	}
	return h.ackEmitter.Emit(ctx, batch)
}

// Save errors surface from Read's final save and from Close.
func TestFileSource_Checkpoint_SaveError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "{}\n")
	cp := &failingCheckpoints{}
	src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir, Checkpoints: cp}, 64)
	if err := src.Read(context.Background(), &ackEmitter{}); !errors.Is(err, errSaveFailed) {
		t.Errorf("Read = %v, want the save error", err)
	}
	if err := src.Close(); !errors.Is(err, errSaveFailed) {
		t.Errorf("Close = %v, want the save error", err)
	}
}

var errSaveFailed = errors.New("save failed")

type failingCheckpoints struct{}

func (failingCheckpoints) Load() ([]byte, error) { return nil, nil }
func (failingCheckpoints) Save([]byte) error     { return errSaveFailed }

func TestFileSource_Checkpoint_BadState(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "in.jsonl", "{}\n")
	for _, state := range []string{"{", `{"version":2,"files":{}}`} {
		cp := &memCheckpoints{state: []byte(state)}
		src := buildFileSource(t, FileSourceConfig{Path: "in.jsonl"}, Env{BaseDir: dir, Checkpoints: cp}, 64)
		if err := src.Read(context.Background(), &ackEmitter{}); err == nil || !strings.Contains(err.Error(), "load checkpoint") {
			t.Errorf("state %s: Read = %v", state, err)
		}
		src.Close()
	}
}

// Over-long lines (longer than a read block, too) are tracked like other
// rejects, and a resume after one starts at the next line, not inside it.
func TestFileSource_Checkpoint_LongLines(t *testing.T) {
	long := `{"x":"` + strings.Repeat("y", 200) + `"}`
	lines := []string{`{"n":1}`, `{"n":2}`, long, `{"n":4}`, long, "", `{"n":7}`, `{"n":8}`, long}
	in := strings.Join(lines, "\n") // the last line is long and unterminated
	starts := []int64{0}
	for _, l := range lines {
		starts = append(starts, starts[len(starts)-1]+int64(len(l))+1)
	}
	for _, workers := range []int{1, 3} {
		for _, pending := range []int64{4, 5, 8} {
			t.Run(fmt.Sprintf("workers=%d/pending=%d", workers, pending), func(t *testing.T) {
				dir := t.TempDir()
				p := writeFile(t, dir, "in.jsonl", in)
				cp := &memCheckpoints{}
				build := func() *fileSource {
					s := buildFileSource(t, FileSourceConfig{Path: "in.jsonl", ParseWorkers: workers, MaxLineBytes: 50}, Env{BaseDir: dir, BatchSize: 2, Name: "src", Checkpoints: cp}, 64)
					s.chunk = 64
					return s
				}
				s := build()
				if err := s.Read(context.Background(), &ackEmitter{outcome: func(l int64) record.Outcome {
					if l == pending {
						return 0
					}
					return record.Delivered
				}}); err != nil {
					t.Fatal(err)
				}
				s.Close()
				if fs := cp.decode(t).Files[p]; fs.Offset != starts[pending-1] || fs.Line != pending-1 {
					t.Fatalf("saved %+v, want line %d at %d", fs, pending-1, starts[pending-1])
				}
				s = build()
				em := &ackEmitter{}
				if err := s.Read(context.Background(), em); err != nil {
					t.Fatal(err)
				}
				s.Close()
				var got []string
				for _, l := range em.seqs {
					got = append(got, fmt.Sprint(l))
				}
				for _, o := range em.rejects {
					got = append(got, "reject:"+strings.TrimPrefix(o, p+":"))
				}
				want := map[int64]string{4: "[4 7 8 reject:5 reject:9]", 5: "[7 8 reject:5 reject:9]", 8: "[8 reject:9]"}[pending]
				if fmt.Sprint(got) != want {
					t.Errorf("resumed: %v, want %s", got, want)
				}
				if fs := cp.decode(t).Files[p]; fs.Offset != int64(len(in)) || fs.Line != 9 {
					t.Errorf("after the resumed run %+v, want the end (%d, 9)", fs, len(in))
				}
			})
		}
	}
}

// ackingEmitter ends every record as delivered right away (through an
// engine group, as the engine does) and releases it.
type ackingEmitter struct {
	n      int
	engine countingGroup
}

func (c *ackingEmitter) Emit(_ context.Context, batch []*record.Record) error {
	c.n += len(batch)
	for _, r := range batch {
		if r.Ack == nil {
			r.Ack = new(record.Ack)
			r.Ack.Init(nil, 0)
		}
		r.Ack.Attach(&c.engine)
		r.Ack.End(record.Delivered)
		r.Release()
	}
	return nil
}

func (c *ackingEmitter) Reject(context.Context, []byte, string, error) error { return nil }

// BenchmarkFileSource_Checkpoints reads one 100,000-line JSON file into an
// Emitter that acknowledges every record at once, with checkpoints (every
// record tracked, the prefix saved at the end) and without, to show what
// tracking costs the source.
//
//	go test -run '^$' -bench FileSource_Checkpoints -benchmem -cpu 1,2 ./connectors/
func BenchmarkFileSource_Checkpoints(b *testing.B) {
	const lines = 100_000
	dir, size := benchInput(b, lines)
	for _, ck := range []bool{false, true} {
		for _, w := range []struct {
			name    string
			workers int
		}{{"1", 1}, {"auto", 0}} {
			b.Run(fmt.Sprintf("checkpoints=%t/workers=%s", ck, w.name), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				cpu0 := processCPU()
				for range b.N {
					env := Env{BaseDir: dir}
					if ck {
						env.Checkpoints = &memCheckpoints{}
					}
					src := buildFileSource(b, FileSourceConfig{Path: "in.jsonl", ParseWorkers: w.workers}, env, 1<<20)
					var c ackingEmitter
					if err := src.Read(context.Background(), &c); err != nil {
						b.Fatal(err)
					}
					if err := src.Close(); err != nil {
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
