package connectors

import (
	"strings"
	"testing"
)

func TestCheckJSONLimits_Cases(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, c := range []struct {
		line, err string
		depth     int
	}{
		{`{"a":"plain"}`, "", 1000},
		{"{\"a\":\"caf\xc3\xa9\"}", "", 1000},
		{"{\"a\":\"\xff\"}", "invalid UTF-8 at byte 6", 1000},
		{"{\"a\":\"ok\xe2\x82\"}", "invalid UTF-8 at byte 8", 1000},
		{deep(1000), "", 1000},
		{deep(1001), "JSON nested deeper than max_depth (1000) at byte 1000", 1000},
		{`{"s":"` + strings.Repeat("[", 2000) + `"}`, "", 1000}, // brackets in a string do not nest
		{`{"s":"\"` + strings.Repeat("{", 20) + `"}`, "", 10},
		{deep(11), "nested deeper than max_depth (10)", 10},
	} {
		err := checkJSONLimits([]byte(c.line), c.depth)
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("checkJSONLimits(%.40q) = %v, want %q", c.line, err, c.err)
		}
	}
}
