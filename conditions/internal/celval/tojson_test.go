package celval

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"github.com/valyala/fastjson"
)

func TestAppendJSON_Cases(t *testing.T) {
	reg := types.DefaultTypeAdapter
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	for _, c := range []struct {
		name string
		v    ref.Val
		want string
	}{
		{"int", types.Int(-42), `-42`},
		{"int min", types.Int(math.MinInt64), `-9223372036854775808`},
		{"uint max", types.Uint(math.MaxUint64), `18446744073709551615`},
		{"double", types.Double(2.5), `2.5`},
		{"double integral", types.Double(5), `5`},
		{"double negative zero", types.Double(math.Copysign(0, -1)), `-0`},
		{"double small", types.Double(1e-7), `1e-7`},
		{"double large", types.Double(1e21), `1e+21`},
		{"double below exponent form", types.Double(123456789e12), `123456789000000000000`},
		{"string", types.String("a\"b\\c\n\t\x01é"), `"a\"b\\c\n\t\u0001é"`},
		{"string invalid utf-8", types.String("a\xffb"), `"a\ufffdb"`},
		{"bytes", types.Bytes("hi\x00"), `"aGkA"`},
		{"bytes empty", types.Bytes(""), `""`},
		{"bool", types.True, `true`},
		{"null", types.NullValue, `null`},
		{"timestamp to UTC", types.Timestamp{Time: ts}, `"2026-01-02T02:04:05Z"`},
		{"timestamp nanos", types.Timestamp{Time: ts.Add(1500 * time.Nanosecond)}, `"2026-01-02T02:04:05.0000015Z"`},
		{"duration", types.Duration{Duration: 1500 * time.Millisecond}, `"1.5s"`},
		{"duration negative", types.Duration{Duration: -2 * time.Hour}, `"-7200s"`},
		{"list", reg.NativeToValue([]any{int64(1), "x", nil, []any{true}}), `[1,"x",null,[true]]`},
		{"list empty", reg.NativeToValue([]any{}), `[]`},
		{"map sorted", reg.NativeToValue(map[string]any{"b": int64(1), "a": map[string]any{"z": 2.5, "y": []any{}}}), `{"a":{"y":[],"z":2.5},"b":1}`},
		{"map empty", reg.NativeToValue(map[string]any{}), `{}`},
		{"payload object keeps its order and escapes", JSON(fastjson.MustParse(`{"z":1, "a":{"k":"\u0007\"x"},"l":[1.50,"\u00e9"]}`)), `{"z":1,"a":{"k":"\u0007\"x"},"l":[1.50,"é"]}`},
		{"payload array", JSON(fastjson.MustParse(`[{"a":null},false]`)), `[{"a":null},false]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := AppendJSON([]byte("prefix "), c.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix "+c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
			if !json.Valid(got[len("prefix "):]) {
				t.Fatalf("not valid JSON: %s", got)
			}
		})
	}
}

func TestAppendJSON_Errors(t *testing.T) {
	reg := types.DefaultTypeAdapter
	for _, c := range []struct {
		name string
		v    ref.Val
		want string
	}{
		{"nan", types.Double(math.NaN()), "double NaN cannot be written as JSON"},
		{"inf", types.Double(math.Inf(1)), "double +Inf cannot be written as JSON"},
		{"nested inf", reg.NativeToValue(map[string]any{"a": []any{1.0, math.Inf(-1)}}), `key "a": index 1: double -Inf cannot be written as JSON`},
		{"int key", reg.NativeToValue(map[int64]any{1: "x"}), "map key 1 is a int: JSON object keys must be strings"},
		{"type", types.IntType, "type value cannot be written as JSON"},
		{"optional", types.OptionalOf(types.Int(1)), "optional_type value cannot be written as JSON"},
		{"error", types.NewErr("boom"), "boom"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := AppendJSON(nil, c.v)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// FuzzAppendJSON: whatever the strings, numbers and payloads, the output
// is valid JSON (or an error for NaN and infinities), and a payload value
// written back reads as the same JSON.
func FuzzAppendJSON(f *testing.F) {
	f.Add("a\"b", []byte{0, 0xff}, 1.5, int64(-3), `{"a":[1,"x\u0000",{"b":null}]}`)
	f.Add("\xff\xfe\x00\u2028", []byte{}, math.Inf(1), int64(0), `"\ud800"`)
	f.Add("", []byte("x"), 1e-300, int64(math.MaxInt64), `[1e999, -0, 12345678901234567890]`)
	f.Fuzz(func(t *testing.T, s string, b []byte, d float64, i int64, doc string) {
		reg := types.DefaultTypeAdapter
		v := reg.NativeToValue(map[string]any{
			"s:" + s: []any{s, b, d, i, uint64(i), nil, true},
			"t":      time.Unix(i%(1<<35), int64(d)%1e9),
			"d":      time.Duration(i),
			"m":      map[string]any{s: map[string]any{s + "x": s}},
		})
		out, err := AppendJSON(nil, v)
		if err != nil {
			if math.IsNaN(d) || math.IsInf(d, 0) {
				return
			}
			t.Fatalf("error %v for %q %v %v %v", err, s, b, d, i)
		}
		if !json.Valid(out) {
			t.Fatalf("not valid JSON: %s", out)
		}
		var back map[string]any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		valid := validUTF8(s) // each invalid byte becomes U+FFFD, as encoding/json does
		if got := back["s:"+valid].([]any)[0]; got != valid {
			t.Fatalf("string %q came back as %q", s, got)
		}

		pv, err := fastjson.Parse(doc)
		if err != nil {
			return
		}
		out, err = AppendJSON(nil, JSON(pv))
		if err != nil {
			// fastjson's parser is lenient with numbers ("[.]", "nan").
			if json.Valid([]byte(doc)) {
				t.Fatalf("valid payload %s: %v", doc, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("payload %s written as invalid JSON: %s", doc, out)
		}
		pw, err := fastjson.ParseBytes(out)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := Native(pv), Native(pw); !jsonEqual(a, b) {
			t.Fatalf("payload %s came back as %s", doc, out)
		}
	})
}

func validUTF8(s string) string {
	b, _ := json.Marshal(s)
	var v string
	_ = json.Unmarshal(b, &v)
	return v
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// checkShortDecimal: where appendShortDecimal writes f, it writes what
// strconv's shortest formatting writes.
func checkShortDecimal(t *testing.T, f float64) bool {
	t.Helper()
	got, ok := appendShortDecimal([]byte("x"), f)
	if !ok {
		if string(got) != "x" {
			t.Fatalf("appendShortDecimal(%v) declined but wrote %q", f, got)
		}
		return false
	}
	if want := strconv.AppendFloat([]byte("x"), f, 'f', -1, 64); string(got) != string(want) {
		t.Fatalf("appendShortDecimal(%v) = %s, strconv %s", f, got, want)
	}
	return true
}

func TestAppendShortDecimal_MatchesStrconv(t *testing.T) {
	t.Parallel()
	// Money and quantities, as a mapping computes them: a parsed price
	// times a quantity (the benchmark's total), sums and quotients.
	for i := 0; i < 200_000; i++ {
		price, err := strconv.ParseFloat(fmt.Sprintf("%d.%02d", i%2000, i%100), 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []float64{price, price * float64(1+i%9), -price * float64(1+i%13), price + 0.1, price / 3, price * 1.1} {
			checkShortDecimal(t, f)
		}
	}
	// Short decimals at every scale, and random doubles.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200_000; i++ {
		k := rng.IntN(16)
		m := rng.Int64N(1 << 53)
		checkShortDecimal(t, float64(m)/math.Pow(10, float64(k)))
		checkShortDecimal(t, math.Float64frombits(rng.Uint64()))
		checkShortDecimal(t, rng.Float64()*math.Pow(10, float64(rng.IntN(30)-8)))
	}
	// The edges of its range.
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1e-6, math.Nextafter(1e-6, 0), math.Nextafter(1e-6, 1), 1 << 48, math.Nextafter(1<<48, 0),
		1<<48 - 0.5, 1<<47 + 0.25, 0.1, 0.2, 0.1 + 0.2, 1.005, 2.675, 0.3, 1e15, 123456789.123456, 4503599627370495.5,
		5e-324, math.MaxFloat64, 9007199254740993, 0.000001234, 100, 1e5, -7.5,
	} {
		checkShortDecimal(t, f)
	}
	// It decides the common cases itself.
	for _, f := range []float64{7.5, 145.45, 13, -2.25, 0.01, 1234.5, 0.30000000000000004} {
		if !checkShortDecimal(t, f) && f != 0.30000000000000004 {
			t.Errorf("appendShortDecimal(%v) declined", f)
		}
	}
}

func FuzzAppendShortDecimal(f *testing.F) {
	for _, x := range []float64{7.5, 0.1, 1e-6, 1 << 48, 123.456} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) { checkShortDecimal(t, x) })
}
