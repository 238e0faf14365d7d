package celval

import (
	"math"
	"strings"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"github.com/valyala/fastjson"
)

// numberTexts are JSON number texts of every shape: small and large
// integers, the int64 limits and one past them, 2^53 + 1, negative zero,
// fractions, exponents and values that overflow or underflow a double.
var numberTexts = []string{
	"0", "-0", "1", "-1", "42", "500", "501", "499", "-500",
	"123456789012345678", "-123456789012345678", "999999999999999999",
	"1234567890123456789", "9007199254740993", "-9007199254740993", "9007199254740992",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
	"12345678901234567890", "123456789012345678901234567890",
	"0.0", "-0.0", "4.5", "500.0", "500.5", "499.99999999999999999", "500.00000000000001",
	"1e3", "1E3", "1e+3", "1e-3", "-1E-2", "5e2", "1e300", "-1e300", "1e400", "-1e400", "1e-400",
	"2.2250738585072011e-308", "1.7976931348623157e308", "0.1", "0.30000000000000004",
	"9007199254740993.0", "9.007199254740993e15", "9223372036854775807.0", "1e18", "1e19",
	"123456789012345678.5", "0.000000000000000000001",
}

func numberVal(i int64, f float64, isInt bool) ref.Val {
	if isInt {
		return types.Int(i)
	}
	return types.Double(f)
}

func sameNumber(a, b ref.Val) bool {
	if a.Type() != b.Type() {
		return false
	}
	if x, ok := a.(types.Double); ok {
		y := b.(types.Double)
		return math.Float64bits(float64(x)) == math.Float64bits(float64(y)) || math.IsNaN(float64(x)) && math.IsNaN(float64(y))
	}
	return a == b
}

func TestParseNumber_MatchesNumber(t *testing.T) {
	for _, s := range numberTexts {
		t.Run(s, func(t *testing.T) {
			checkParseNumber(t, s)
		})
	}
}

// TestParseNumber_ShortDecimals: every placement of the point in digit
// strings up to the 16-character limit of shortDecimal and past it,
// signed and not, converts as Number does.
func TestParseNumber_ShortDecimals(t *testing.T) {
	t.Parallel()
	digits := []string{"1", "05", "999", "1234567", "30000000000004", "123456789012345", "9999999999999999", "12345678901234567"}
	for _, ds := range digits {
		for p := 1; p < len(ds); p++ {
			for _, sign := range []string{"", "-"} {
				s := sign + ds[:p] + "." + ds[p:]
				if s[len(sign)] == '0' && p > 1 {
					continue // not JSON
				}
				checkParseNumber(t, s)
				if _, ok := shortDecimal(s); ok != (len(s) <= 16) {
					t.Errorf("shortDecimal(%q) ok = %v", s, ok)
				}
			}
		}
	}
	for _, s := range []string{"1.", ".5", "-.5", "1.5e3", "1e3", "12", "-", "1.2.3", "1.a"} {
		if _, ok := shortDecimal(s); ok {
			t.Errorf("shortDecimal(%q) ok", s)
		}
	}
}

func checkParseNumber(t *testing.T, s string) {
	t.Helper()
	v, err := fastjson.Parse(s)
	if err != nil || v.Type() != fastjson.TypeNumber {
		return
	}
	want := Number(v)
	i, f, isInt, ok := ParseNumber(s)
	if !ok {
		if !types.IsError(want) {
			t.Fatalf("ParseNumber(%q) not ok, Number = %v", s, want)
		}
		return
	}
	if got := numberVal(i, f, isInt); !sameNumber(got, want) {
		t.Fatalf("ParseNumber(%q) = %v (%T), Number = %v (%T)", s, got, got, want, want)
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range numberTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The text of a number token, as a scan finds it: no whitespace.
		if fastjson.Validate(s) != nil || strings.TrimSpace(s) != s {
			return
		}
		checkParseNumber(t, s)
	})
}
