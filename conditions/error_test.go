package conditions

import (
	"errors"
	"testing"
)

func TestEnv_Compile_Errors(t *testing.T) {
	tests := []struct {
		name string
		file string // file text given with WithSourceFile, or ""
		expr string
		src  Source
		want string
	}{
		{
			name: "plain scalar",
			expr: `recrd.key == "x"`,
			src:  Source{File: "pipeline.yaml", Line: 12, Col: 17},
			want: "pipeline.yaml:12:17: undeclared reference to 'recrd.key' (did you mean 'record.key'?)\n | recrd.key == \"x\"\n | ^",
		},
		{
			name: "quoted scalar",
			expr: `record.key == recrd`,
			src:  Source{File: "pipeline.yaml", Line: 3, Col: 9, Quoted: true},
			want: "pipeline.yaml:3:24: undeclared reference to 'recrd'\n | record.key == recrd\n | ..............^",
		},
		{
			name: "unknown record field",
			expr: `record.foo == 1`,
			src:  Source{File: "p.yaml", Line: 1, Col: 7},
			want: "p.yaml:1:7: undeclared reference to 'record.foo' (did you mean 'record.key'?)\n | record.foo == 1\n | ^",
		},
		{
			name: "no source",
			expr: `1 + `,
			want: "<input>:1:5: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | 1 + \n | ....^",
		},
		{
			name: "multi-line without text",
			expr: "record.key == \"a\" &&\n  recrd.y",
			src:  Source{File: "p.yaml", Line: 7, Col: 11},
			want: "p.yaml:8:3: undeclared reference to 'recrd'\n |   recrd.y\n | ..^",
		},
		{
			name: "block scalar with text",
			file: "a:\n  when: |\n    record.key == \"a\" &&\n      recrd.y\n",
			expr: "record.key == \"a\" &&\n  recrd.y\n",
			src:  Source{File: "p.yaml", Line: 2, Col: 9, Block: true},
			want: "p.yaml:4:7: undeclared reference to 'recrd'\n |   recrd.y\n | ..^",
		},
		{
			name: "double quoted with escape and text",
			file: "when: \"record.key == \\\"\\t\\\" && recrd\"\n",
			expr: "record.key == \"\t\" && recrd",
			src:  Source{File: "p.yaml", Line: 1, Col: 7, Quoted: true},
			want: "p.yaml:1:32: undeclared reference to 'recrd'\n | record.key == \" \" && recrd\n | .....................^",
		},
		{
			name: "not bool",
			expr: `record.key`,
			src:  Source{File: "p.yaml", Line: 2, Col: 9},
			want: "p.yaml:2:9: condition must be bool, got string\n | record.key\n | ^",
		},
		{
			name: "not bool int",
			expr: `1 + 2`,
			src:  Source{File: "p.yaml", Line: 2, Col: 9, Quoted: true},
			want: "p.yaml:2:10: condition must be bool, got int\n | 1 + 2\n | ^",
		},
		{
			name: "wide characters",
			expr: `"é" == recrd`,
			src:  Source{File: "p.yaml", Line: 1, Col: 1},
			want: "p.yaml:1:8: undeclared reference to 'recrd'\n | \"é\" == recrd\n | .．.....^",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []EnvOption
			if tt.file != "" {
				opts = append(opts, WithSourceFile(tt.src.File, []byte(tt.file)))
			}
			_, err := newEnv(t, opts...).Compile(tt.expr, tt.src)
			if err == nil {
				t.Fatal("want error")
			}
			if err.Error() != tt.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *Error", err)
			}
		})
	}
}

func TestEnv_Compile_SeveralErrorsJoined(t *testing.T) {
	_, err := newEnv(t).Compile(`a == b`, Source{File: "p.yaml", Line: 4, Col: 5})
	want := "p.yaml:4:5: undeclared reference to 'a'\n | a == b\n | ^\np.yaml:4:10: undeclared reference to 'b'\n | a == b\n | .....^"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestError_Error_NoSnippet(t *testing.T) {
	e := &Error{File: "x.yaml", Line: 3, Col: 4, Msg: "bad"}
	if got := e.Error(); got != "x.yaml:3:4: bad" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestSource_String(t *testing.T) {
	tests := []struct {
		src  Source
		want string
	}{
		{Source{}, "<input>"},
		{Source{File: "p.yaml"}, "p.yaml"},
		{Source{File: "p.yaml", Line: 3, Col: 9}, "p.yaml:3:9"},
	}
	for _, tt := range tests {
		if got := tt.src.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.src, got, tt.want)
		}
	}
}
