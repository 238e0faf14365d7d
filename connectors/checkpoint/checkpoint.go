// Package checkpoint keeps sources' resume positions (connectors.Checkpoints)
// in one bbolt file, checkpoints.db, in a run's state directory.
//
// A Store holds one value per (pipeline, source). Save commits a bbolt
// write transaction, which is fsynced before it returns: a position saved
// survives a crash of the process or of the machine. Only one process may
// have a state directory open at a time; a second Open fails with
// ErrInUse after a short wait instead of hanging.
package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/connectors"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file in the state directory.
const FileName = "checkpoints.db"

// ErrInUse is wrapped by Open's error when another process (another run
// of a pipeline) holds the state directory.
var ErrInUse = errors.New("state directory in use by another run")

// openTimeout is how long Open waits for another process's lock.
var openTimeout = time.Second

// rootBucket holds one nested bucket per pipeline, keyed by source name.
var rootBucket = []byte("checkpoints")

// Store is an open state directory. Its methods, and those of the
// Checkpoints it hands out, are safe for concurrent use.
type Store struct {
	db  *bolt.DB
	dir string
}

// Open opens (creating it and its directory if needed) the checkpoint
// database in dir. It fails with an error wrapping ErrInUse when another
// process has it open.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked (waited %s)", ErrInUse, path, openTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(rootBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Store{db: db, dir: dir}, nil
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// For returns the checkpoints of one source of one pipeline. Different
// (pipeline, source) pairs never see each other's state.
func (s *Store) For(pipeline, source string) connectors.Checkpoints {
	return &sourceCheckpoints{s: s, pipeline: []byte(pipeline), source: []byte(source)}
}

// Clear removes the saved state of one source of one pipeline; the next
// Load returns nil. Clearing what was never saved is not an error.
func (s *Store) Clear(pipeline, source string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(rootBucket).Bucket([]byte(pipeline))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(source))
	})
	if err != nil {
		return fmt.Errorf("clear checkpoint of pipeline %q source %q: %w", pipeline, source, err)
	}
	return nil
}

// Close closes the database and releases the state directory.
func (s *Store) Close() error { return s.db.Close() }

type sourceCheckpoints struct {
	s                *Store
	pipeline, source []byte
}

var _ connectors.Checkpoints = (*sourceCheckpoints)(nil)

func (c *sourceCheckpoints) Load() ([]byte, error) {
	var out []byte
	err := c.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(rootBucket).Bucket(c.pipeline)
		if b == nil {
			return nil
		}
		if v := b.Get(c.source); v != nil {
			out = append([]byte{}, v...) // v is only valid inside the transaction
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load checkpoint of pipeline %q source %q: %w", c.pipeline, c.source, err)
	}
	return out, nil
}

func (c *sourceCheckpoints) Save(state []byte) error {
	err := c.s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(c.pipeline)
		if err != nil {
			return err
		}
		return b.Put(c.source, state)
	})
	if err != nil {
		return fmt.Errorf("save checkpoint of pipeline %q source %q: %w", c.pipeline, c.source, err)
	}
	return nil
}
