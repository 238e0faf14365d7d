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
