package jsonsplice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// refAppendSet is engine/lookup.go's appendSet (without its parsed-document
// fast path) as it was when the splicer moved here: the differential tests
// and the benchmarks compare against it.
func refAppendSet(dst, doc []byte, path []string, val []byte) ([]byte, error) {
	a, b, missing, comma, err := refLocate(doc, 0, path, 0)
	if err != nil {
		return dst, err
	}
	dst = append(dst, doc[:a]...)
	if missing > 0 {
		if comma {
			dst = append(dst, ',')
		}
		for k, seg := range path[len(path)-missing:] {
			if k > 0 {
				dst = append(dst, '{')
			}
			dst = appendString(dst, seg)
			dst = append(dst, ':')
		}
	}
	dst = append(dst, val...)
	for k := 1; k < missing; k++ {
		dst = append(dst, '}')
	}
	return append(dst, doc[b:]...), nil
}

func refLocate(doc []byte, i int, path []string, depth int) (a, b, missing int, comma bool, err error) {
	i = skipSpace(doc, i)
	if i >= len(doc) || doc[i] != '{' {
		return 0, 0, 0, false, errors.New("not an object")
	}
	i++
	last, members := i, false
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return 0, 0, 0, false, errors.New("unterminated object")
		}
		switch doc[i] {
		case '}':
			return last, last, len(path) - depth, members, nil
		case ',':
			i++
			continue
		case '"':
		default:
			return 0, 0, 0, false, fmt.Errorf("unexpected %q at offset %d", doc[i], i)
		}
		ks := i
		if i, err = skipString(doc, i); err != nil {
			return 0, 0, 0, false, err
		}
		match := refKeyIs(doc[ks:i], path[depth])
		i = skipSpace(doc, i)
		if i >= len(doc) || doc[i] != ':' {
			return 0, 0, 0, false, fmt.Errorf("expected ':' at offset %d", i)
		}
		i = skipSpace(doc, i+1)
		vs := i
		if i, err = skipValue(doc, i); err != nil {
			return 0, 0, 0, false, err
		}
		if match {
			if depth == len(path)-1 {
				return vs, i, 0, false, nil
			}
			if doc[vs] != '{' {
				return 0, 0, 0, false, fmt.Errorf("%q holds a value that is not an object", strings.Join(path[:depth+1], "."))
			}
			return refLocate(doc, vs, path, depth+1)
		}
		last, members = i, true
	}
}

func refKeyIs(raw []byte, name string) bool {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == name
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == name
}
