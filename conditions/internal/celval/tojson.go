package celval

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"github.com/valyala/fastjson"
)

// AppendJSON appends v, encoded as one JSON value, to dst:
//
//   - int, uint and double as numbers (a NaN or an infinity is an error;
//     doubles in encoding/json's shortest form, so 5.0 is written 5);
//   - string as a string (invalid UTF-8 replaced by U+FFFD), bytes as a
//     base64 string (standard alphabet, padded), bool and null as such;
//   - timestamp as an RFC 3339 string in UTC, with as many fraction digits
//     as the nanoseconds need; duration as CEL writes it ("1.5s");
//   - map as an object (keys must be strings: a payload object keeps its
//     member order, other maps are written with their keys sorted so that
//     the output does not depend on Go's map order), list as an array,
//     nested to any depth.
//
// Any other value (a type, an optional, an error) is an error. On an
// error the returned slice holds dst's bytes and possibly a partial value
// after them: callers keep dst[:len(dst)].
func AppendJSON(dst []byte, v ref.Val) ([]byte, error) {
	switch x := v.(type) {
	case types.Int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case types.Uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case types.Double:
		return appendFloat(dst, float64(x))
	case types.String:
		return appendString(dst, string(x)), nil
	case types.Bool:
		return strconv.AppendBool(dst, bool(x)), nil
	case types.Null:
		return append(dst, "null"...), nil
	case types.Bytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, []byte(x))
		return append(dst, '"'), nil
	case types.Timestamp:
		dst = append(dst, '"')
		dst = x.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"'), nil
	case types.Duration:
		s, ok := x.ConvertToType(types.StringType).(types.String)
		if !ok {
			return dst, fmt.Errorf("duration %v cannot be written as JSON", x.Duration)
		}
		return appendString(dst, string(s)), nil
	case Object:
		// Payload parts are written from the parse tree, in document order.
		return appendParsed(dst, x.o)
	case Array:
		return appendParsedValue(dst, x.v)
	case *types.Err:
		return dst, x
	case interface{ JSONValue() ref.Val }:
		// A lazily read payload: written as its parse.
		return AppendJSON(dst, x.JSONValue())
	case traits.Mapper:
		return appendMap(dst, x)
	case traits.Lister:
		return appendList(dst, x)
	}
	return dst, fmt.Errorf("%s value cannot be written as JSON", v.Type().TypeName())
}

// appendParsedValue writes a value of a parsed payload. fastjson's own
// MarshalTo is not used: it escapes strings the Go way (\x01, \a), which
// is not JSON, and writes numbers as they were read, which its parser does
// not check (it takes "." or "nan" for a number).
func appendParsedValue(dst []byte, v *fastjson.Value) ([]byte, error) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return appendParsed(dst, o)
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = append(dst, '[')
		for i, e := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendParsedValue(dst, e); err != nil {
				return dst, fmt.Errorf("index %d: %w", i, err)
			}
		}
		return append(dst, ']'), nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return appendString(dst, string(b)), nil
	case fastjson.TypeNumber:
		n := len(dst)
		dst = v.MarshalTo(dst)
		if validNumber(dst[n:]) {
			return dst, nil
		}
		f, err := v.Float64()
		if err != nil {
			return dst[:n], fmt.Errorf("invalid JSON number %q", dst[n:])
		}
		return appendFloat(dst[:n], f)
	default: // true, false, null
		return v.MarshalTo(dst), nil
	}
}

func appendParsed(dst []byte, o *fastjson.Object) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	var err error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, string(k))
		dst = append(dst, ':')
		if dst, err = appendParsedValue(dst, v); err != nil {
			err = fmt.Errorf("key %q: %w", k, err)
		}
	})
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// validNumber reports whether b is a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(b)
}

// AppendDouble appends f as AppendJSON writes a double (a NaN or an
// infinity is an error), for callers holding a float64 rather than a
// boxed types.Double.
func AppendDouble(dst []byte, f float64) ([]byte, error) { return appendFloat(dst, f) }

func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("double %v cannot be written as JSON", f)
	}
	if b, ok := appendShortDecimal(dst, f); ok {
		return b, nil
	}
	// encoding/json's form: plain decimals in [1e-6, 1e21), exponents
	// outside, with a one-digit negative exponent written e-7, not e-07.
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// appendShortDecimal writes f as strconv.AppendFloat(dst, f, 'f', -1, 64)
// does when f has a short decimal form, the common case of money and
// quantities (7.5, 145.45, 13): it looks for the fewest fraction digits
// j whose integer m = round(f * 10^j) gives back f (m / 10^j == f, both
// exact and the division correctly rounded, so the text m·10^-j parses
// to f). With |f|·10^j below 2^48, f·10^j is computed within 2^-4 of its
// true value, so any integer within f's half-ulp at that scale is the
// one round finds: the first j found is the shortest form, and the only
// one of its length, which is what the shortest formatting picks. ok is
// false (the caller formats) for zero, for |f| < 1e-6, and where no j
// qualifies.
func appendShortDecimal(dst []byte, f float64) (_ []byte, ok bool) {
	a := math.Abs(f)
	if !(a >= 1e-6) || a >= 1<<48 {
		return dst, false
	}
	for j := 0; j < len(pow10); j++ {
		p := pow10[j]
		x := a * p
		if x >= 1<<48 {
			return dst, false
		}
		m := math.Round(x)
		if m/p != a {
			continue
		}
		u, pu := uint64(m), uint64(p)
		if j > 0 && u%10 == 0 {
			return dst, false // not the shortest: leave it to strconv
		}
		if f < 0 {
			dst = append(dst, '-')
		}
		dst = strconv.AppendUint(dst, u/pu, 10)
		if j == 0 {
			return dst, true
		}
		dst = append(dst, '.')
		frac := u % pu
		for d := pu / 10; d > frac; d /= 10 {
			dst = append(dst, '0') // leading zeros of the fraction
		}
		return strconv.AppendUint(dst, frac, 10), true
	}
	return dst, false
}

func appendMap(dst []byte, m traits.Mapper) ([]byte, error) {
	n, _ := m.Size().(types.Int)
	keys := make([]string, 0, int(n))
	for it := m.Iterator(); it.HasNext() == types.True; {
		k := it.Next()
		s, ok := k.(types.String)
		if !ok {
			return dst, fmt.Errorf("map key %v is a %s: JSON object keys must be strings", k, k.Type().TypeName())
		}
		keys = append(keys, string(s))
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = AppendJSON(dst, m.Get(types.String(k))); err != nil {
			return dst, fmt.Errorf("key %q: %w", k, err)
		}
	}
	return append(dst, '}'), nil
}

func appendList(dst []byte, l traits.Lister) ([]byte, error) {
	dst = append(dst, '[')
	i := 0
	for it := l.Iterator(); it.HasNext() == types.True; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = AppendJSON(dst, it.Next()); err != nil {
			return dst, fmt.Errorf("index %d: %w", i, err)
		}
	}
	return append(dst, ']'), nil
}

// appendString appends s as a JSON string literal: the quote, the
// backslash and control characters escaped, invalid UTF-8 replaced by
// U+FFFD.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
