package connectors

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCheckEnum_Cases(t *testing.T) {
	t.Parallel()
	valid := []string{"json_lines", "lines"}
	for _, c := range []struct {
		val, want string // want "": valid
	}{
		{"json_lines", ""},
		{"lines", ""},
		{"jsonlines", `unknown codec "jsonlines" (want json_lines or lines) (did you mean "json_lines"?)`},
		{"line", `unknown codec "line" (want json_lines or lines) (did you mean "lines"?)`},
		{"csv", `unknown codec "csv" (want json_lines or lines)`},
		{"", `unknown codec "" (want json_lines or lines)`},
	} {
		err := CheckEnum("codec", "codec", c.val, valid)
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.val, err)
			}
			continue
		}
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != "codec" || err.Error() != c.want {
			t.Errorf("%q: err = %v (%T), want %q at key codec", c.val, err, err, c.want)
		}
	}
}

// Every connector's enumerated keys are checked by its Check with the
// values Enums lists, so the JSON Schema and the checks agree, and a typo
// is a *KeyError at that key with a suggestion.
func TestEnumerated_CheckedByTheSpec(t *testing.T) {
	t.Parallel()
	n := 0
	for _, k := range []Kind{KindSource, KindSink, KindLookup} {
		for _, typ := range Types(k) {
			spec, _ := Lookup(k, typ)
			e, ok := spec.NewConfig().(Enumerated)
			if !ok {
				continue
			}
			for key, vals := range e.Enums() {
				for _, v := range vals {
					cfg := withField(t, spec.NewConfig(), key, v)
					var ke *KeyError
					if err := spec.Check(cfg); errors.As(err, &ke) && ke.Key == key {
						t.Errorf("%s %s: %s: %q rejected: %v", k, typ, key, v, err)
					}
				}
				typo := vals[0] + "x"
				err := spec.Check(withField(t, spec.NewConfig(), key, typo))
				var ke *KeyError
				if !errors.As(err, &ke) || ke.Key != key || !strings.Contains(err.Error(), `(did you mean "`+vals[0]+`"?)`) {
					t.Errorf("%s %s: %s: %q: err = %v, want a *KeyError suggesting %q", k, typ, key, typo, err, vals[0])
				}
				n++
			}
		}
	}
	if n < 4 {
		t.Errorf("only %d enumerated keys checked", n)
	}
}

// withField sets the string field of cfg (a pointer to a config struct)
// whose YAML name is key.
func withField(t *testing.T, cfg any, key, val string) any {
	t.Helper()
	v := reflect.ValueOf(cfg).Elem()
	for i := 0; i < v.NumField(); i++ {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name == key {
			v.Field(i).SetString(val)
			return cfg
		}
	}
	t.Fatalf("%T has no key %q", cfg, key)
	return nil
}
