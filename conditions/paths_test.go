package conditions

import (
	"reflect"
	"testing"
)

func TestProgram_PayloadPaths(t *testing.T) {
	tests := []struct {
		expr string
		want [][]string
	}{
		{`record.key == "k"`, nil},
		{`record.payload.amount > 500`, [][]string{{"amount"}}},
		{`record.payload.user.age > 30 && record.payload.user.country == "GB"`, [][]string{{"user", "age"}, {"user", "country"}}},
		{`record.payload["a-b"].c == 1 || record.payload.?d.orValue(0) == 2`, [][]string{{"a-b", "c"}, {"d"}}},
		{`record.payload.items[record.payload.i].sku == "x"`, [][]string{{"items"}, {"i"}}},
		{`record.payload.items.exists(i, i.sku == "x")`, [][]string{{"items"}}},
		{`has(record.payload.user.email)`, [][]string{{"user", "email"}}},
		{`record.payload.user.age > 1 && size(record.payload.user) > 2`, [][]string{{"user"}}},
		{`"x" in record.payload || record.payload.a == 1`, [][]string{{}}},
		{`[record.payload.a, 1] == [2, record.payload.b.c]`, [][]string{{"a"}, {"b", "c"}}},
		{`{"k": record.payload.m}.k == 1`, [][]string{{"m"}}},
		{`record.payload.a == 1 && record.payload.a == 2`, [][]string{{"a"}}},
	}
	env := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := env.Compile(tt.expr, Source{})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.PayloadPaths(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("PayloadPaths() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValueProgram_PayloadPaths(t *testing.T) {
	v, err := newEnv(t).CompileValue(`record.payload.user.name + "!"`, Source{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.PayloadPaths(), [][]string{{"user", "name"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("PayloadPaths() = %q, want %q", got, want)
	}
}
