package connectors

import (
	"fmt"

	"github.com/conveyor-etl/conveyor-wasm/internal/suggest"
)

// Enumerated is an optional interface of a connector's config: the keys
// that take one of a fixed set of values, with those values. The engine
// puts them in the JSON Schema of pipeline files; the config's checks use
// them (CheckEnum) so that the two cannot disagree.
type Enumerated interface {
	Enums() map[string][]string
}

// KeyError is a problem with one key of a connector's config, returned by
// a Spec's Check (alone or joined with others). The engine reports it at
// that key in the pipeline file rather than at the source or service
// holding it.
type KeyError struct {
	Key string // the key's YAML name
	Err error
}

func (e *KeyError) Error() string { return e.Err.Error() }

// Unwrap returns the problem.
func (e *KeyError) Unwrap() error { return e.Err }

// keyErrorf returns a *KeyError for key.
func keyErrorf(key, format string, args ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf(format, args...)}
}

// CheckEnum returns nil when val is one of valid, or a *KeyError for key
// that lists the valid values and, for a near miss, suggests the closest:
//
//	unknown codec "jsonlines" (want json_lines or lines) (did you mean "json_lines"?)
//
// what names the value in the message ("codec", "sync policy").
func CheckEnum(key, what, val string, valid []string) error {
	for _, v := range valid {
		if val == v {
			return nil
		}
	}
	return &KeyError{Key: key, Err: fmt.Errorf("unknown %s %q (want %s)%s", what, val, suggest.OrList(valid), suggest.DidYouMean(val, valid))}
}
