package abi

import "strconv"

// The package formats its few messages itself instead of importing fmt:
// every Go guest links this package, and fmt (with reflect) would add
// hundreds of kilobytes to each plugin, and to the memory of each instance.

// sprintf supports the verbs this package uses: %d, %s, %q and %#x, with
// integer, string and []byte arguments.
func sprintf(format string, args ...any) string {
	b := make([]byte, 0, len(format)+16)
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		verb := format[i]
		alt := false
		if verb == '#' && i+1 < len(format) {
			alt, i = true, i+1
			verb = format[i]
		}
		if len(args) == 0 {
			b = append(b, "%!"...)
			b = append(b, verb)
			continue
		}
		a := args[0]
		args = args[1:]
		switch verb {
		case 'd':
			b = strconv.AppendInt(b, toInt64(a), 10)
		case 'x':
			if alt {
				b = append(b, "0x"...)
			}
			b = strconv.AppendUint(b, uint64(toInt64(a)), 16)
		case 'q':
			b = strconv.AppendQuote(b, toString(a))
		default: // 's'
			b = append(b, toString(a)...)
		}
	}
	return string(b)
}

func toInt64(a any) int64 {
	switch v := a.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return int64(v)
	case OutputKind:
		return int64(v)
	}
	return 0
}

func toString(a any) string {
	switch v := a.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return "?"
}

// wrapError prefixes an error message and unwraps to the error, like
// fmt.Errorf("prefix: %w", err).
type wrapError struct {
	prefix string
	err    error
}

func (e *wrapError) Error() string { return e.prefix + ": " + e.err.Error() }
func (e *wrapError) Unwrap() error { return e.err }
