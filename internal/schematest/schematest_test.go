package schematest

import "testing"

func TestCompile_ValidatesYAML(t *testing.T) {
	t.Parallel()
	s := Compile(t, "t.json", []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "properties": {"n": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}},
  "additionalProperties": false}`))
	if err := s.Validate(YAML(t, []byte("n: 3\nat: 2026-01-01T00:00:00Z\n"))); err != nil {
		t.Errorf("valid document rejected: %v", err)
	}
	for _, bad := range []string{"n: three\n", "m: 3\n", "at: yesterday\n"} {
		if err := s.Validate(YAML(t, []byte(bad))); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
