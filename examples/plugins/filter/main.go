// Command filter is a conveyor-wasm plugin that keeps the records whose JSON
// payload has a field equal to a configured value and drops the others. See
// README.md.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o filter.wasm .
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
	conveyor.RegisterTransform(filter)
}

func main() {}

var (
	path   []string // field path, split at dots
	equals string

	parser fastjson.Parser
	buf    []byte
)

// configure reads "field" and "equals", both required.
func configure() error {
	field, _ := conveyor.Config("field")
	if field == "" {
		return errors.New(`config "field" is required: the JSON field to compare, e.g. "status" or "user.country"`)
	}
	path = strings.Split(field, ".")
	for _, seg := range path {
		if seg == "" {
			return fmt.Errorf(`config "field": path %q has an empty segment`, field)
		}
	}
	var ok bool
	if equals, ok = conveyor.Config("equals"); !ok {
		return errors.New(`config "equals" is required: the value the field must have to keep the record`)
	}
	return nil
}

// filter emits r unchanged when its field equals the configured value. A
// string field compares by its text; any other field by its JSON text
// (42, true, null, {"a":1}). A record without the field is dropped.
func filter(r conveyor.Record, out conveyor.Emitter) error {
	v, err := parser.ParseBytes(r.Payload)
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	f := v.Get(path...)
	if f == nil {
		return nil
	}
	if f.Type() == fastjson.TypeString {
		buf = append(buf[:0], f.GetStringBytes()...)
	} else {
		buf = f.MarshalTo(buf[:0])
	}
	if string(buf) == equals {
		out.Emit(r)
	}
	return nil
}
