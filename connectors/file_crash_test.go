//go:build unix

package connectors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/connectors/checkpoint"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// The crash test scaffolding: this test binary, run with
// CONVEYOR_CRASH_HELPER=1, is a tiny pipeline (a file source with a bbolt
// state directory -> an appending output file, fsynced per batch, records
// acknowledged only after the fsync); TestFileSource_Crash kills it with
// SIGKILL at random points and restarts it until it completes, then checks
// that every input line reached the output at least once.
//
// Environment of the helper: CRASH_IN (input), CRASH_OUT (output, appended
// to), CRASH_STATE (state directory), CRASH_WORKERS (parse_workers).

func TestMain(m *testing.M) {
	if os.Getenv("CONVEYOR_CRASH_HELPER") == "1" {
		if err := crashHelper(); err != nil {
			fmt.Fprintln(os.Stderr, "crash helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashHelper() error {
	store, err := checkpoint.Open(os.Getenv("CRASH_STATE"))
	if err != nil {
		return err
	}
	defer store.Close()
	out, err := os.OpenFile(os.Getenv("CRASH_OUT"), os.O_APPEND|os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// A SIGKILL can cut a write short: the killed run's last line may be
	// torn. Its records were never acknowledged (that waits for the
	// fsync after the write); as the file sink does, the torn line is cut
	// off before appending.
	if err := cutTornLine(out); err != nil {
		return err
	}
	spec, _ := connectors.Lookup(connectors.KindSource, "file")
	cfg := spec.NewConfig().(*connectors.FileSourceConfig)
	cfg.Path = os.Getenv("CRASH_IN")
	cfg.CheckpointInterval = 5 * time.Millisecond
	cfg.ParseWorkers, _ = strconv.Atoi(os.Getenv("CRASH_WORKERS"))
	src, err := connectors.BuildSource(spec, cfg, connectors.Env{BatchSize: 64, Name: "src", Checkpoints: store.For("crash", "src")})
	if err != nil {
		return err
	}
	if err := src.Read(context.Background(), &syncEmitter{out: out}); err != nil {
		return err
	}
	return src.Close()
}

// cutTornLine truncates f after its last '\n'.
func cutTornLine(f *os.File) error {
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if keep := bytes.LastIndexByte(b, '\n') + 1; keep < len(b) {
		return f.Truncate(int64(keep))
	}
	return nil
}

// syncEmitter appends each batch to out, fsyncs, then acknowledges it.
type syncEmitter struct {
	out *os.File
	buf []byte
	g   nopGroup
}

type nopGroup struct{}

func (nopGroup) Done(*record.Ack, record.Outcome) {}

func (e *syncEmitter) Emit(_ context.Context, batch []*record.Record) error {
	e.buf = e.buf[:0]
	for _, r := range batch {
		e.buf = append(append(e.buf, r.Payload...), '\n')
	}
	if _, err := e.out.Write(e.buf); err != nil {
		return err
	}
	if err := e.out.Sync(); err != nil {
		return err
	}
	for _, r := range batch {
		r.Ack.Attach(e.g)
		r.Ack.End(record.Delivered)
	}
	return nil
}

func (e *syncEmitter) Reject(context.Context, []byte, string, error) error { return nil }

func TestFileSource_Crash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	const lines = 20_000
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.jsonl")
			var sb strings.Builder
			for i := 1; i <= lines; i++ {
				fmt.Fprintf(&sb, `{"id":%d,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`+"\n", i)
			}
			if err := os.WriteFile(in, []byte(sb.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.jsonl")
			kills := 0
			for attempt := 0; ; attempt++ {
				if attempt == 40 {
					t.Fatalf("not complete after %d runs", attempt)
				}
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "CONVEYOR_CRASH_HELPER=1", "CRASH_IN="+in, "CRASH_OUT="+out,
					"CRASH_STATE="+filepath.Join(dir, "state"), fmt.Sprint("CRASH_WORKERS=", workers))
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				// Kill after a growing delay, so that later runs get further.
				delay := time.Duration(20+attempt*attempt*5) * time.Millisecond
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("helper: %v", err)
					}
				case <-time.After(delay):
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					kills++
					checkSavedDelivered(t, filepath.Join(dir, "state"), in, out)
					continue
				}
				break
			}
			seen, total := readIDs(t, out, lines, false)
			for id := 1; id <= lines; id++ {
				if seen[id] == 0 {
					t.Fatalf("id %d missing from the output", id)
				}
			}
			t.Logf("%d kills, %d lines out for %d in: %d duplicates", kills, total, lines, total-lines)
			if kills == 0 {
				t.Log("the helper finished before the first kill: nothing was tested")
			}
		})
	}
}

// readIDs counts the ids in the output file. With killed (the helper was
// killed last, and the next run cuts a torn last line off) a last line
// without its '\n' is left out; otherwise it is an error, as is any torn
// line before the last.
func readIDs(t *testing.T, out string, lines int, killed bool) (seen []int, total int) {
	t.Helper()
	seen = make([]int, lines+1)
	b, err := os.ReadFile(out)
	if os.IsNotExist(err) {
		return seen, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(b, '\n'); killed && i+1 < len(b) {
		b = b[:i+1]
	}
	for l := range bytes.Lines(b) {
		var v struct{ ID int }
		if err := json.Unmarshal(l, &v); err != nil || v.ID < 1 || v.ID > lines || l[len(l)-1] != '\n' {
			t.Fatalf("output line %d: %q (%v)", total+1, l, err)
		}
		seen[v.ID]++
		total++
	}
	return seen, total
}

// checkSavedDelivered checks, after a kill, that the saved checkpoint
// covers only lines that reached the output: a resume from it loses
// nothing.
func checkSavedDelivered(t *testing.T, state, in, out string) {
	t.Helper()
	store, err := checkpoint.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := store.For("crash", "src").Load()
	store.Close()
	if err != nil || raw == nil {
		return // killed before the first save
	}
	var st struct {
		Files map[string]struct{ Line int }
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	saved := st.Files[in].Line
	seen, _ := readIDs(t, out, 20_000, true)
	for id := 1; id <= saved; id++ {
		if seen[id] == 0 {
			t.Fatalf("the checkpoint covers line %d but id %d never reached the output", saved, id)
		}
	}
}
