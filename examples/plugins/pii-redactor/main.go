// Command pii-redactor is a conveyor-wasm plugin that replaces the values of
// configured JSON fields with "[REDACTED]" (or a configured replacement) and
// keeps everything else of the payload as it was. See README.md.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pii-redactor.wasm .
package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fastjson"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

func init() {
	conveyor.OnInit(configure)
	conveyor.RegisterTransform(redact)
}

func main() {}

// DefaultReplacement replaces redacted values unless config "replacement"
// says otherwise.
const DefaultReplacement = "[REDACTED]"

var (
	paths       [][]string // field paths, split at dots
	replacement string

	// Reused across records: a Wasm instance runs one record at a time.
	parser fastjson.Parser
	arena  fastjson.Arena
	buf    []byte
)

// configure reads "fields" (required) and "replacement".
func configure() error {
	fields, _ := conveyor.Config("fields")
	var err error
	if paths, err = parsePaths(fields); err != nil {
		return fmt.Errorf(`config "fields": %w`, err)
	}
	replacement = DefaultReplacement
	if r, ok := conveyor.Config("replacement"); ok {
		replacement = r
	}
	return nil
}

// parsePaths splits "email, user.phone" into [[email] [user phone]].
func parsePaths(list string) ([][]string, error) {
	var out [][]string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p := strings.Split(f, ".")
		for _, seg := range p {
			if seg == "" {
				return nil, fmt.Errorf("field path %q has an empty segment", f)
			}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New(`required: a comma-separated list of JSON field paths such as "email,user.phone"`)
	}
	return out, nil
}

// redact replaces every configured field present in the payload. A payload
// without any of them is emitted byte for byte unchanged.
func redact(r conveyor.Record, out conveyor.Emitter) error {
	v, err := parser.ParseBytes(r.Payload)
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	arena.Reset()
	n := 0
	for _, p := range paths {
		parent, last := v.Get(p[:len(p)-1]...), p[len(p)-1]
		if parent == nil || !parent.Exists(last) {
			continue
		}
		parent.Set(last, arena.NewString(replacement))
		n++
	}
	if n > 0 {
		buf = v.MarshalTo(buf[:0])
		r.Payload = buf
		conveyor.Counter("fields_redacted", int64(n))
	}
	out.Emit(r)
	return nil
}
