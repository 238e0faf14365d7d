package connectors

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/valyala/fastjson"
)

// StaticLookupConfig configures the `static` lookup service: a table held
// in memory, read from a JSON Lines file or given inline.
type StaticLookupConfig struct {
	Path  string           `yaml:"path" doc:"a JSON Lines file with one object per line, relative to the pipeline file (or rows)" example:"customers.jsonl"`
	Rows  []map[string]any `yaml:"rows" doc:"the table inline: a list of objects (or path)" example:"[{id: 1, tier: gold}]"`
	Index []string         `yaml:"index" doc:"lookup fields to index when the service is built; lookups by other fields are then rejected when the pipeline is validated. Empty: any field, indexed on first use" example:"[id]"`
}

// KeyFields implements KeyFielder: the indexed fields, or nil for any.
func (c *StaticLookupConfig) KeyFields() []string {
	if len(c.Index) == 0 {
		return nil
	}
	return c.Index
}

func init() {
	Register(Spec{
		Type: "static",
		Kind: KindLookup,
		Summary: "A table held in memory, from a JSON Lines file or inline rows. Lookup fields are dot paths into the rows; " +
			"a key is found by the canonical text of its values (the string \"42\" and the number 42 are the same key). " +
			"When several rows share a key, the last one wins.",
		NewConfig: func() any { return &StaticLookupConfig{} },
		Check:     func(cfg any) error { return cfg.(*StaticLookupConfig).check() },
		Probe:     probeStaticLookup,
		Build: func(cfg any, env Env) (any, error) {
			return NewStaticLookup(cfg.(*StaticLookupConfig), env.BaseDir)
		},
	})
}

func (c *StaticLookupConfig) check() error {
	if (c.Path == "") == (c.Rows == nil) {
		return errors.New("static lookup: set exactly one of path and rows")
	}
	for _, f := range c.Index {
		if err := checkFieldPath(f); err != nil {
			return keyErrorf("index", "static lookup: index: %w", err)
		}
	}
	for i, row := range c.Rows {
		if _, err := json.Marshal(row); err != nil {
			return keyErrorf("rows", "static lookup: rows[%d]: %w", i, err)
		}
	}
	return nil
}

func checkFieldPath(f string) error {
	if f == "" || slices.Contains(strings.Split(f, "."), "") {
		return fmt.Errorf("bad field path %q", f)
	}
	return nil
}

// StaticLookup is the `static` lookup service: rows in memory, indexed by
// field combination. Indexes are built once, when the service is built (the
// config's index) or on first use (any other combination); LookupBatch is
// then one map access per key and returns the stored rows, never copies.
type StaticLookup struct {
	rows    [][]byte // JSON objects
	allowed []string // nil: any field

	mu      sync.RWMutex
	indexes map[string]map[string][]byte // fields joined by "\x00" -> composite key -> row
}

var _ LookupService = (*StaticLookup)(nil)

// NewStaticLookup builds the table from cfg; a relative path resolves
// against baseDir. Every row must be a JSON object.
func NewStaticLookup(cfg *StaticLookupConfig, baseDir string) (*StaticLookup, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &StaticLookup{allowed: cfg.KeyFields(), indexes: map[string]map[string][]byte{}}
	if cfg.Path != "" {
		p := cfg.Path
		if !filepath.IsAbs(p) && baseDir != "" {
			p = filepath.Join(baseDir, p)
		}
		rows, err := readJSONLines(p)
		if err != nil {
			return nil, fmt.Errorf("static lookup: %w", err)
		}
		s.rows = rows
	} else {
		s.rows = make([][]byte, len(cfg.Rows))
		for i, row := range cfg.Rows {
			b, err := json.Marshal(row)
			if err != nil {
				return nil, fmt.Errorf("static lookup: rows[%d]: %w", i, err)
			}
			s.rows[i] = b
		}
	}
	for _, f := range s.allowed {
		if _, err := s.index([]string{f}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readJSONLines reads one JSON object per non-blank line.
func readJSONLines(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		rows [][]byte
		p    fastjson.Parser
		line int
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		v, err := p.ParseBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: malformed JSON: %w", path, line, err)
		}
		if v.Type() != fastjson.TypeObject {
			return nil, fmt.Errorf("%s:%d: a row must be a JSON object, got %s", path, line, v.Type())
		}
		rows = append(rows, bytes.Clone(b))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", path, line+1, err)
	}
	return rows, nil
}

// Len returns the number of rows.
func (s *StaticLookup) Len() int { return len(s.rows) }

// KeyFields implements LookupService.
func (s *StaticLookup) KeyFields() []string { return s.allowed }

// Close implements LookupService; the table needs no cleanup.
func (s *StaticLookup) Close() error { return nil }

// LookupBatch implements LookupService.
func (s *StaticLookup) LookupBatch(ctx context.Context, fields []string, keys [][]string, results [][]byte) error {
	if len(results) != len(keys) {
		return fmt.Errorf("static lookup: %d results for %d keys", len(results), len(keys))
	}
	idx, err := s.index(fields)
	if err != nil {
		return err
	}
	var buf [128]byte
	for i, k := range keys {
		if len(k) != len(fields) {
			return fmt.Errorf("static lookup: key %d has %d values for %d fields", i, len(k), len(fields))
		}
		c := buf[:0]
		for _, part := range k {
			c = appendPart(c, part)
		}
		results[i] = idx[string(c)]
	}
	return nil
}

// appendPart appends one component of a composite key, length-prefixed so
// that no two keys encode alike.
func appendPart(dst []byte, part string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(part)))
	return append(dst, part...)
}

// index returns the index for a field combination, building it on first use.
func (s *StaticLookup) index(fields []string) (map[string][]byte, error) {
	name := strings.Join(fields, "\x00")
	s.mu.RLock()
	idx, ok := s.indexes[name]
	s.mu.RUnlock()
	if ok {
		return idx, nil
	}
	if len(fields) == 0 {
		return nil, errors.New("static lookup: no key fields")
	}
	paths := make([][]string, len(fields))
	for i, f := range fields {
		if err := checkFieldPath(f); err != nil {
			return nil, fmt.Errorf("static lookup: %w", err)
		}
		if s.allowed != nil && !slices.Contains(s.allowed, f) {
			return nil, fmt.Errorf("static lookup: field %q is not indexed (index: %s)", f, strings.Join(s.allowed, ", "))
		}
		paths[i] = strings.Split(f, ".")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx, ok := s.indexes[name]; ok {
		return idx, nil
	}
	idx = make(map[string][]byte, len(s.rows))
	var (
		p     fastjson.Parser
		c     []byte
		parts []byte
	)
rows:
	for _, row := range s.rows {
		v, err := p.ParseBytes(row)
		if err != nil {
			return nil, fmt.Errorf("static lookup: stored row: %w", err) // rows were validated when read
		}
		c = c[:0]
		for _, path := range paths {
			var ok bool
			parts, ok = AppendKey(parts[:0], v.Get(path...))
			if !ok {
				continue rows // a row without the key is not indexed
			}
			c = appendPart(c, string(parts))
		}
		idx[string(c)] = row // the last row with a key wins
	}
	s.indexes[name] = idx
	return idx, nil
}
