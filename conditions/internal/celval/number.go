package celval

import (
	"math"

	"github.com/valyala/fastjson/fastfloat"
)

// ParseNumber converts the text of a JSON number exactly as Number
// converts the parsed value: isInt with i for an integer literal that fits
// int64, f otherwise. ok is false when the text is not a number Number
// would accept (Number then returns an error value). Readers that scan
// payload bytes instead of parsing them use it, so that both paths give
// the same CEL value for every number text.
func ParseNumber(s string) (i int64, f float64, isInt, ok bool) {
	// The common case, up to 18 digits with an optional minus sign, is an
	// int64 whatever Number's steps: skip them.
	if n := len(s); n > 0 && n <= 19 {
		j := 0
		if s[0] == '-' {
			j = 1
		}
		if j < n && n-j <= 18 {
			var v int64
			k := j
			for ; k < n && s[k] >= '0' && s[k] <= '9'; k++ {
				v = v*10 + int64(s[k]-'0')
			}
			if k == n {
				if j == 1 {
					v = -v
				}
				return v, 0, true, true
			}
		}
	}
	if f, ok := shortDecimal(s); ok {
		return 0, f, false, true
	}
	// Number's steps, with the same functions fastjson's Float64 and
	// Int64 call on the same text.
	f, err := fastfloat.Parse(s)
	if err != nil {
		return 0, 0, false, false
	}
	// ParseInt64 accepts only an optional minus sign and digits; asking it
	// about anything else would only build its error.
	if f == math.Trunc(f) && f >= -1<<63 && f <= 1<<63 && digitsOnly(s) {
		if i, err := fastfloat.ParseInt64(s); err == nil {
			return i, 0, true, true
		}
	}
	return 0, f, false, true
}

// digitsOnly reports whether s is an optional minus sign and digits.
func digitsOnly(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// shortDecimal converts a fraction of up to 16 characters, an optional
// minus sign, digits, a point and digits (2.50, -0.125), exactly as
// fastfloat.Parse does on its fast path: the digits as one integer,
// converted and divided by a power of ten, then negated. Such a text is
// never an int for Number (it has a point), and at that length Parse
// takes none of its slower paths. ok is false for any other text.
func shortDecimal(s string) (f float64, ok bool) {
	n := len(s)
	if n == 0 || n > 16 {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		i = 1
	}
	var d uint64
	start := i
	for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
		d = d*10 + uint64(s[i]-'0')
	}
	if i == start || i >= n-1 || s[i] != '.' {
		return 0, false
	}
	i++
	frac := i
	for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
		d = d*10 + uint64(s[i]-'0')
	}
	if i != n {
		return 0, false
	}
	f = float64(d) / pow10[n-frac]
	if start == 1 {
		f = -f
	}
	return f, true
}

// pow10 are the powers of ten shortDecimal divides by (fastfloat's) and
// appendShortDecimal scales by.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
