package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore_Load_Empty(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	got, err := s.For("p", "src").Load()
	if err != nil || got != nil {
		t.Fatalf("Load on a new store = %q, %v; want nil, nil", got, err)
	}
}

func TestStore_Save_ReopenAfterClose(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state") // Open creates it
	s := open(t, dir)
	if err := s.For("p", "src").Save([]byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.For("p", "src").Save([]byte("two")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	got, err := s.For("p", "src").Load()
	if err != nil || string(got) != "two" {
		t.Fatalf("Load after reopen = %q, %v; want two", got, err)
	}
}

func TestStore_For_Isolated(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	keys := [][2]string{{"p1", "a"}, {"p1", "b"}, {"p2", "a"}, {"p2", "b"}}
	for _, k := range keys {
		if err := s.For(k[0], k[1]).Save([]byte(k[0] + "/" + k[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Clear("p1", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear("nope", "b"); err != nil {
		t.Fatalf("Clear of an unknown pipeline: %v", err)
	}
	for _, k := range keys {
		got, err := s.For(k[0], k[1]).Load()
		if err != nil {
			t.Fatal(err)
		}
		want := k[0] + "/" + k[1]
		if k == [2]string{"p1", "b"} {
			want = ""
		}
		if string(got) != want {
			t.Errorf("%s/%s = %q, want %q", k[0], k[1], got, want)
		}
	}
}

func TestStore_Save_Concurrent(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, src := range []string{"a", "b"} {
		wg.Go(func() {
			c := s.For("p", src)
			for i := range 20 {
				if err := c.Save([]byte(fmt.Sprintf("%s%d", src, i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, src := range []string{"a", "b"} {
		if got, _ := s.For("p", src).Load(); string(got) != src+"19" {
			t.Errorf("%s = %q, want %s19", src, got, src)
		}
	}
}

func TestStore_Load_ReturnsCopy(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	c := s.For("p", "a")
	if err := c.Save([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Load()
	got[0] = 'X'
	if again, _ := c.Load(); string(again) != "abc" {
		t.Fatalf("Load after changing a returned value = %q", again)
	}
}

func TestOpen_InUse(t *testing.T) {
	old := openTimeout
	openTimeout = 50 * time.Millisecond
	defer func() { openTimeout = old }()
	dir := t.TempDir()
	s := open(t, dir)
	// flock locks belong to the open file, so a second Open in this
	// process waits for the first as another process would.
	_, err := Open(dir)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	s.Close()
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestOpen_NotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}
