package conditions

import (
	"testing"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// TestValueProgram_ScanPayload_SameAsParse: every value expression gives
// the same JSON, or the same error, whether record.payload is read from
// the bytes (a validated, unparsed payload) or from the parse.
func TestValueProgram_ScanPayload_SameAsParse(t *testing.T) {
	payloads := []string{
		testPayload,
		`{"price":2.5,"qty":3,"s":"a\"b\u00e9\n","n":null,"t":true,"o":{"k":[1]},"big":12345678901234567890,"e":1e2}`,
		` { "qty" : -0 , "price": 1E400, "dup": 1, "dup": 2 } `,
		`{"esc\u0041":1,"price":"x"}`,
		`[1,2]`,
		`"text"`,
		`{}`,
	}
	exprs := []string{
		`record.payload.price * double(record.payload.qty)`,
		`record.payload.qty`, `record.payload.price`, `record.payload.s`, `record.payload.n`, `record.payload.t`,
		`record.payload.o`, `record.payload.o.k`, `record.payload.big`, `record.payload.e`, `record.payload.dup`,
		`record.payload.escA`, `record.payload.missing`, `record.payload`, `has(record.payload.qty)`,
		`size(record.payload)`, `record.payload["price"]`, `record.payload.exists(k, k == "qty")`,
		`record.payload == {"qty": 3}`, `"qty" in record.payload`, `record.payload.user.name`, `record.payload.l[3]`,
		`record.payload.count + 1`, `{"p": record.payload.price, "all": record.payload}`,
	}
	env := newEnv(t)
	for _, e := range exprs {
		v, err := env.CompileJSON(e, Source{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range payloads {
			scan := record.New("", []byte(p))
			scan.MarkValidJSON()
			got, gotErr := v.EvalJSON(scan, nil)
			parsed := record.New("", []byte(p))
			if _, err := parsed.JSON(); err != nil {
				t.Fatal(err)
			}
			want, wantErr := v.EvalJSON(parsed, nil)
			if string(got) != string(want) || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Errorf("%s on %s:\nscanned %s, %v\nparsed  %s, %v", e, p, got, gotErr, want, wantErr)
			}
		}
	}
}
