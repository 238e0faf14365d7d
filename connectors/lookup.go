package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/valyala/fastjson"
)

// LookupService is a keyed table that lookup stages enrich records from: a
// static table today; Redis, PostgreSQL, HTTP or Wasm lookups later.
//
// Lookups are batched so that a remote service makes one round trip per
// batch of records rather than one per record, and a slow call holds up one
// batch (of one stage replica), not the pipeline.
//
// A LookupService must be safe for concurrent use: every replica of every
// stage that names the service calls LookupBatch at the same time.
type LookupService interface {
	// KeyFields lists the lookup fields the service can be keyed by, or
	// returns nil when any field will do.
	KeyFields() []string

	// LookupBatch looks up len(keys) keys at once. fields names the lookup
	// fields a key is made of; keys[i] holds one value per field, in the
	// canonical text AppendKey produces. LookupBatch sets results[i]
	// (len(results) == len(keys)) to the JSON document found for keys[i],
	// or to nil when there is none. The key strings are only valid during
	// the call. The results belong to the caller, which never modifies them:
	// they must stay valid and unchanged after the call.
	//
	// An error fails the whole batch (every record of it is dead-lettered);
	// a key that is not found is not an error. ctx bounds the call.
	LookupBatch(ctx context.Context, fields []string, keys [][]string, results [][]byte) error

	// Close releases the service's resources. No call follows it.
	Close() error
}

// KeyFielder is implemented by a lookup connector's config when the service
// it configures can only be keyed by some fields. The engine then rejects a
// pipeline whose lookup stage maps other fields when it is validated, before
// anything is opened; otherwise it checks LookupService.KeyFields when the
// service is built.
type KeyFielder interface {
	// KeyFields returns the allowed lookup fields, or nil for any field.
	KeyFields() []string
}

// BuildLookup builds a lookup service from a spec and its decoded config.
func BuildLookup(s Spec, cfg any, env Env) (LookupService, error) {
	x, err := s.Build(cfg, env)
	if err != nil {
		return nil, fmt.Errorf("lookup service %q (%s): %w", env.Name, s.Type, err)
	}
	ls, ok := x.(LookupService)
	if !ok {
		return nil, fmt.Errorf("lookup service %q (%s): built a %T, not a LookupService", env.Name, s.Type, x)
	}
	return ls, nil
}

// AppendKey appends to dst the canonical text of v as a lookup key value and
// reports whether v can be a key at all. Records and tables agree on a key
// when their values have the same canonical text:
//
//   - a string is its unescaped text, without quotes;
//   - an integer (a JSON number without fraction or exponent) is its digits,
//     exactly, however large ("-0" is "0");
//   - any other number is its float64 value as encoding/json prints it
//     (1.0 and 1e0 are "1", 2.50 is "2.5");
//   - true and false are "true" and "false".
//
// So the string "42" and the number 42 are the same key: tables often come
// from systems (CSV files, Redis) that have only strings. null, objects and
// arrays are not keys (ok is false and dst is returned unchanged).
func AppendKey(dst []byte, v *fastjson.Value) ([]byte, bool) {
	if v == nil {
		return dst, false
	}
	switch v.Type() {
	case fastjson.TypeString:
		return append(dst, v.GetStringBytes()...), true
	case fastjson.TypeTrue:
		return append(dst, "true"...), true
	case fastjson.TypeFalse:
		return append(dst, "false"...), true
	case fastjson.TypeNumber:
		start := len(dst)
		dst = v.MarshalTo(dst)
		return canonicalNumber(dst, start), true
	}
	return dst, false
}

// AppendKeyRaw is AppendKey for a JSON scalar given as its text, as a
// scanner finds it in a payload without parsing the document: a string
// with its quotes, a number, true or false. Anything else (null, an object,
// an array, malformed text) gives no key.
func AppendKeyRaw(dst, raw []byte) ([]byte, bool) {
	if len(raw) == 0 {
		return dst, false
	}
	switch c := raw[0]; {
	case c == '"':
		if len(raw) < 2 || raw[len(raw)-1] != '"' {
			return dst, false
		}
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			return append(dst, inner...), true
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return dst, false
		}
		return append(dst, s...), true
	case c == 't' && string(raw) == "true", c == 'f' && string(raw) == "false":
		return append(dst, raw...), true
	case c == '-' || c >= '0' && c <= '9':
		start := len(dst)
		return canonicalNumber(append(dst, raw...), start), true
	}
	return dst, false
}

// canonicalNumber rewrites the JSON number text dst[start:] in canonical
// form (see AppendKey).
func canonicalNumber(dst []byte, start int) []byte {
	num := dst[start:]
	integer := len(num) > 0
	for _, c := range num {
		if (c < '0' || c > '9') && c != '-' {
			integer = false
			break
		}
	}
	if integer {
		if string(num) == "-0" {
			return append(dst[:start], '0')
		}
		return dst
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return dst // not a number we understand: compare the text as is
	}
	return appendFloat(dst[:start], f)
}

// appendFloat formats f the way encoding/json does.
func appendFloat(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // -0.0 too
	}
	format := byte('f')
	if a := math.Abs(f); a < 1e-6 || a >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
