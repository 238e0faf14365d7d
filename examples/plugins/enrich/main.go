// Command enrich is a conveyor-wasm plugin that adds configured metadata to
// every record and stamps its JSON payload with the processing time from the
// host clock. See README.md.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o enrich.wasm .
package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

func init() {
	conveyor.OnInit(configure)
	conveyor.RegisterTransform(enrich)
}

func main() {}

// DefaultField is the payload field that receives the processing time unless
// config "field" names another.
const DefaultField = "processed_at"

var (
	extra conveyor.Metadata // from config "metadata"
	field string

	parser fastjson.Parser
	arena  fastjson.Arena
	buf    []byte
)

// configure reads "metadata" ("k=v,k2=v2", optional) and "field".
func configure() error {
	extra = extra[:0]
	list, _ := conveyor.Config("metadata")
	for _, pair := range strings.Split(list, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf(`config "metadata": entry %q is not key=value`, pair)
		}
		extra.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	field = DefaultField
	if f, ok := conveyor.Config("field"); ok && f != "" {
		field = f
	}
	return nil
}

// enrich sets the configured metadata (replacing existing keys) and the
// top-level payload field to the host's current time in RFC 3339 with
// nanoseconds, UTC. The payload must be a JSON object.
func enrich(r conveyor.Record, out conveyor.Emitter) error {
	v, err := parser.ParseBytes(r.Payload)
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("payload is a JSON %s, not an object", v.Type())
	}
	arena.Reset()
	v.Set(field, arena.NewString(conveyor.Now().UTC().Format(time.RFC3339Nano)))
	buf = v.MarshalTo(buf[:0])
	r.Payload = buf
	for _, kv := range extra {
		r.Metadata.Set(kv.Key, kv.Value)
	}
	out.Emit(r)
	return nil
}
