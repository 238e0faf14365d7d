// Command splitter is a conveyor-wasm plugin that splits a record whose JSON
// payload holds an array into one record per element. See README.md.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o splitter.wasm .
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	conveyor "github.com/conveyor-etl/conveyor-wasm/sdk/go"
)

func init() {
	conveyor.OnInit(configure)
	conveyor.RegisterTransform(split)
}

func main() {}

// Metadata keys set on every output record.
const (
	MetaIndex = "split.index" // position of the element in the array, from 0
	MetaCount = "split.count" // number of elements in the array
)

var (
	path      []string // field path, split at dots
	field     string
	separator = "-"

	parser fastjson.Parser
	buf    []byte
	md     conveyor.Metadata
)

// configure reads "field" (required) and "separator".
func configure() error {
	field, _ = conveyor.Config("field")
	if field == "" {
		return errors.New(`config "field" is required: the JSON array to split, e.g. "items" or "order.lines"`)
	}
	path = strings.Split(field, ".")
	for _, seg := range path {
		if seg == "" {
			return fmt.Errorf(`config "field": path %q has an empty segment`, field)
		}
	}
	separator = "-"
	if s, ok := conveyor.Config("separator"); ok {
		separator = s
	}
	return nil
}

// split emits one record per array element: the element's JSON as payload,
// the input key suffixed with separator and index, the input's metadata and
// event time plus split.index and split.count. An empty array emits nothing
// (the record is dropped); a missing field or a non-array is an error.
func split(r conveyor.Record, out conveyor.Emitter) error {
	v, err := parser.ParseBytes(r.Payload)
	if err != nil {
		return fmt.Errorf("payload is not JSON: %w", err)
	}
	arr := v.Get(path...)
	if arr == nil {
		return fmt.Errorf("field %q not found", field)
	}
	items, err := arr.Array()
	if err != nil {
		return fmt.Errorf("field %q is %s, not an array", field, arr.Type())
	}
	count := strconv.Itoa(len(items))
	for i, item := range items {
		idx := strconv.Itoa(i)
		buf = item.MarshalTo(buf[:0])
		md = append(md[:0], r.Metadata...)
		md.Set(MetaIndex, idx)
		md.Set(MetaCount, count)
		out.Emit(conveyor.Record{
			Key:       r.Key + separator + idx,
			Payload:   buf,
			Metadata:  md,
			EventTime: r.EventTime,
		})
	}
	return nil
}
