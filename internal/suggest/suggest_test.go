package suggest

import "testing"

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"evry", "every", 1}, {"kitten", "sitting", 3}, {"", "ab", 2}} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	known := []string{"drop", "dead_letter", "error"}
	for _, c := range []struct{ word, want string }{
		{"dorp", ` (did you mean "drop"?)`},
		{"eror", ` (did you mean "error"?)`},
		{"dead-letter", ` (did you mean "dead_letter"?)`},
		{"something", ""}, // too far
		{"", ""},
	} {
		if got := DidYouMean(c.word, known); got != c.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}

func TestOrList(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   []string
		want string
	}{{nil, "nothing"}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a or b"}, {[]string{"a", "b", "c"}, "a, b or c"}} {
		if got := OrList(c.in); got != c.want {
			t.Errorf("OrList(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
