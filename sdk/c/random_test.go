package c_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/abi"
	"github.com/conveyor-etl/conveyor-wasm/plugins/plugintest"
)

// randomPayload writes a random JSON-ish document: objects, arrays,
// strings with escapes, raw numbers and literals, random white space, keys
// the redactor's paths name (some escaped), and sometimes a few mutated
// bytes so that invalid input is covered too.
func randomPayload(r *rand.Rand) []byte {
	var b strings.Builder
	keys := []string{"email", "user", "phone", "users", "0", "1", "\\u0065mail", "k\\\"q", "x\\ty", "e\\u006dail", "ph\\u006fne", "n", ""}
	ws := func() {
		for r.IntN(4) == 0 {
			b.WriteByte(" \t\n\r"[r.IntN(4)])
		}
	}
	var value func(depth int)
	value = func(depth int) {
		ws()
		switch k := r.IntN(9); {
		case k < 2 && depth < 5:
			b.WriteByte('{')
			for i, n := 0, r.IntN(4); i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				ws()
				b.WriteString("\"" + keys[r.IntN(len(keys))] + "\"")
				ws()
				b.WriteByte(':')
				value(depth + 1)
			}
			ws()
			b.WriteByte('}')
		case k < 4 && depth < 5:
			b.WriteByte('[')
			for i, n := 0, r.IntN(4); i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				value(depth + 1)
			}
			ws()
			b.WriteByte(']')
		case k < 6:
			parts := []string{"a", "@b.c", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "é", "\\x", " "}
			b.WriteByte('"')
			for i, n := 0, r.IntN(4); i < n; i++ {
				b.WriteString(parts[r.IntN(len(parts))])
			}
			b.WriteByte('"')
		case k < 8:
			nums := []string{"0", "-1", "1.50", "1e5", "+2", "1.2.3", "NaN", "-Inf", "007", "-"}
			b.WriteString(nums[r.IntN(len(nums))])
		default:
			b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
		}
		ws()
	}
	value(0)
	p := []byte(b.String())
	if r.IntN(4) == 0 && len(p) > 0 {
		for i, n := 0, 1+r.IntN(3); i < n; i++ {
			const alphabet = "{}[]\",:\\ aeu0\x01\xff"
			p[r.IntN(len(p))] = alphabet[r.IntN(len(alphabet))]
		}
	}
	return p
}

// TestPIIRedactor_MatchesGoRandom compares this SDK's redactor with the Go
// one on 2000 generated payloads per config (fixed seed).
func TestPIIRedactor_MatchesGoRandom(t *testing.T) {
	path := build(t, "examples/pii-redactor")
	goPath := plugintest.BuildGo(t, "../../examples/plugins/pii-redactor")
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]abi.Record, 2000)
	for i := range in {
		in[i] = abi.Record{Key: fmt.Appendf(nil, "k%d", i), Payload: randomPayload(r)}
	}
	ctx := context.Background()
	for _, cfg := range []map[string]string{
		{"fields": "email,user.phone,users.1,0"},
		{"fields": "e\\u006dail,k\"q,user.ph\\u006fne,x\ty", "replacement": "q\"\x01é"},
	} {
		p, gp := load(t, "c", path, cfg), load(t, "go", goPath, cfg)
		got, err := p.Process(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := gp.Process(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d outputs, Go %d", len(got), len(want))
		}
		// The generator must cover all three outcomes.
		var errs, changed, same int
		for _, w := range want {
			switch {
			case w.Kind == abi.KindError:
				errs++
			case string(w.Record.Payload) != string(in[w.Input].Payload):
				changed++
			default:
				same++
			}
		}
		if errs < 50 || changed < 50 || same < 50 {
			t.Errorf("config %q: %d errors, %d redacted, %d unchanged: the generator lost coverage", cfg, errs, changed, same)
		}
		bad := 0
		for i := range want {
			if g, w := normalize(got[i]), normalize(want[i]); !reflect.DeepEqual(g, w) && bad < 5 {
				bad++
				t.Errorf("config %q, payload %q:\n  c %s\n   go %s", cfg, in[w.Input].Payload, show(g), show(w))
			}
		}
	}
}
