// Command user-tier is a lookup plugin (ABI 1.1): it answers user ids with
// their customer tier from a table embedded in the module, so a pipeline can
// enrich records with `type: wasm` as its lookup service.
package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

// tiers.jsonl holds one {"user_id": ..., "tier": ..., "since": ...} object
// per line.
//
//go:embed tiers.jsonl
var tiersJSONL []byte

// rows maps a user id to its row, encoded once at start-up.
var rows map[string][]byte

func init() {
	var err error
	if rows, err = parse(tiersJSONL); err != nil {
		panic(err) // a broken embedded table is a build bug; the instance fails to start
	}
	conveyor.OnInit(func() error {
		if v, ok := conveyor.Config("default_tier"); ok {
			defaultRow = []byte(fmt.Sprintf(`{"tier":%q,"default":true}`, v))
		}
		return nil
	})
	conveyor.RegisterLookup(lookup)
}

// defaultRow answers unknown users when the config sets default_tier;
// otherwise they are misses and the pipeline's miss strategy applies.
var defaultRow []byte

func lookup(key []byte) ([]byte, bool) {
	if row, ok := rows[string(key)]; ok {
		return row, true
	}
	if defaultRow != nil {
		return defaultRow, true
	}
	return nil, false
}

func parse(table []byte) (map[string][]byte, error) {
	m := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(table))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var row struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal(line, &row); err != nil || row.UserID == "" {
			return nil, fmt.Errorf("tiers.jsonl:%d: want an object with a user_id: %v", n, err)
		}
		m[row.UserID] = bytes.Clone(line)
	}
	return m, sc.Err()
}

func main() {}
