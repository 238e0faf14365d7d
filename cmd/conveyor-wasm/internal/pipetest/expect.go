package pipetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

// maxShown bounds the records a failure lists.
const maxShown = 10

// fields says which parts of a record an expectation compares.
type fields struct{ key, metadata, eventTime bool }

func (f fields) or(g fields) fields {
	return fields{f.key || g.key, f.metadata || g.metadata, f.eventTime || g.eventTime}
}

// want is a decoded RecordExpect.
type want struct {
	payload   any
	hasPay    bool
	key       string
	metadata  map[string]string
	eventTime int64
	f         fields
}

func decodeWant(e RecordExpect) (want, error) {
	w := want{f: fields{key: e.Key != nil, metadata: e.Metadata != nil, eventTime: e.EventTime != ""}}
	if e.Payload.Kind != 0 {
		b, err := nodeJSON(&e.Payload)
		if err != nil {
			return w, err
		}
		w.payload, w.hasPay = canonical(b), true
	}
	if e.Key != nil {
		w.key = *e.Key
	}
	if e.Metadata != nil {
		w.metadata = *e.Metadata
	}
	if e.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, e.EventTime)
		if err != nil {
			return w, fmt.Errorf("event_time: %w", err)
		}
		w.eventTime = t.UnixNano()
	}
	return w, nil
}

// canonical decodes a payload as JSON (numbers as float64, so 1 and 1.0
// are equal), or returns its text when it is not JSON.
func canonical(b []byte) any {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return string(b)
	}
	return x
}

// view is a record as a failure shows it: the payload, and the other
// fields f names.
func view(r *record.Record, f fields) string {
	m := map[string]any{"payload": canonical(r.Payload)}
	if f.key {
		m["key"] = r.Key
	}
	if f.metadata {
		md := map[string]string{}
		for _, kv := range r.Metadata {
			md[kv.Key] = kv.Value
		}
		m["metadata"] = md
	}
	if f.eventTime {
		if r.HasEventTime() {
			m["event_time"] = r.Time().Format(time.RFC3339Nano)
		} else {
			m["event_time"] = nil
		}
	}
	return compact(m)
}

// viewWant is view for an expectation, over the fields f.
func viewWant(w want, f fields) string {
	m := map[string]any{"payload": w.payload}
	if f.key {
		m["key"] = w.key
	}
	if f.metadata {
		md := w.metadata
		if md == nil {
			md = map[string]string{}
		}
		m["metadata"] = md
	}
	if f.eventTime {
		if w.f.eventTime {
			m["event_time"] = time.Unix(0, w.eventTime).UTC().Format(time.RFC3339Nano)
		} else {
			m["event_time"] = nil
		}
	}
	return compact(m)
}

// compact is JSON with sorted keys.
func compact(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

// matches reports whether r is w: the payload equal (or, with subset, a
// superset of w's), and the other fields w names equal (metadata: a
// superset, with subset).
func (w want) matches(r *record.Record, subset bool) bool {
	if w.hasPay {
		got := canonical(r.Payload)
		if subset && !isSubset(w.payload, got) || !subset && !reflect.DeepEqual(w.payload, got) {
			return false
		}
	}
	if w.f.key && r.Key != w.key {
		return false
	}
	if w.f.eventTime && (!r.HasEventTime() || r.EventTime != w.eventTime) {
		return false
	}
	if w.f.metadata {
		if !subset && len(r.Metadata) != len(w.metadata) {
			return false
		}
		for k, v := range w.metadata {
			if got, ok := r.Metadata.Get(k); !ok || got != v {
				return false
			}
		}
	}
	return true
}

// isSubset reports whether want is contained in got: objects by key
// (recursively), arrays element by element (same length), scalars equal.
func isSubset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !isSubset(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !isSubset(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// checkSink checks what sink name received.
func (s *suite) checkSink(name string, e *SinkExpect, got []*record.Record) []string {
	var fails []string
	fail := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if e.Count != nil && len(got) != *e.Count {
		fail("%s: got %d records, want %d%s", name, len(got), *e.Count, listRecords(got, fields{}))
	}
	if e.Records != nil {
		var ws []want
		var f fields
		for i, re := range *e.Records {
			w, err := decodeWant(re)
			if err != nil {
				fail("%s: records[%d]: %v", name, i, err)
				return fails
			}
			ws = append(ws, w)
			f = f.or(w.f)
		}
		wantLines := make([]string, len(ws))
		for i, w := range ws {
			wantLines[i] = viewWant(w, f)
		}
		gotLines := make([]string, len(got))
		for i, r := range got {
			gotLines[i] = view(r, f)
		}
		if d := diffLines(wantLines, gotLines, e.Ordered); d != "" {
			order := "in any order"
			if e.Ordered {
				order = "in order"
			}
			fail("%s: records differ (%s; - want, + got):\n%s", name, order, d)
		}
	}
	if len(e.Contains) > 0 {
		used := make([]bool, len(got))
		for i, re := range e.Contains {
			w, err := decodeWant(re)
			if err != nil {
				fail("%s: contains[%d]: %v", name, i, err)
				continue
			}
			found := false
			for j, r := range got {
				if !used[j] && w.matches(r, true) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				fail("%s: no record contains %s%s", name, viewWant(w, w.f), listRecords(got, w.f))
			}
		}
	}
	if e.Assert.Src != "" {
		prg, err := s.compileAssert(e.Assert)
		if err != nil {
			fail("%s: %v", name, err)
			return fails
		}
		var bad []string
		for _, r := range got {
			r := r
			ok, err := prg.Eval(r)
			switch {
			case err != nil:
				bad = append(bad, fmt.Sprintf("%s: %v", view(r, fields{key: r.Key != ""}), err))
			case !ok:
				bad = append(bad, fmt.Sprintf("%s: false", view(r, fields{key: r.Key != ""})))
			}
		}
		if len(bad) > 0 {
			fail("%s: assert %s failed for %d of %d records:%s", name, e.Assert.Src, len(bad), len(got), indent(bad))
		}
	}
	return fails
}

// checkDeadLetters checks the dead letters against the expectations: every
// dead letter must match one (the first that fits), and each expectation
// must match its count (at least one when none is given).
func checkDeadLetters(es []DeadLetterExpect, got []deadLetter) []string {
	var fails []string
	type exp struct {
		DeadLetterExpect
		payload any
		n       int
	}
	xs := make([]exp, len(es))
	for i, e := range es {
		xs[i].DeadLetterExpect = e
		if e.Payload.Kind != 0 {
			b, err := nodeJSON(&e.Payload)
			if err != nil {
				return []string{fmt.Sprintf("dead_letters[%d]: payload: %v", i, err)}
			}
			xs[i].payload = canonical(b)
		}
	}
	var unexpected []string
	for _, d := range got {
		matched := false
		for i := range xs {
			x := &xs[i]
			if strings.Contains(d.Reason, x.ReasonContains) && (x.Stage == "" || x.Stage == d.Stage) &&
				(x.payload == nil || isSubset(x.payload, d.payload())) {
				x.n++
				matched = true
				break
			}
		}
		if !matched {
			unexpected = append(unexpected, d.String())
		}
	}
	for _, x := range xs {
		desc := describeDL(x.DeadLetterExpect, x.payload)
		switch {
		case x.Count != nil && x.n != *x.Count:
			fails = append(fails, fmt.Sprintf("dead letters: %d match %s, want %d%s", x.n, desc, *x.Count, listDL(got)))
		case x.Count == nil && x.n == 0:
			fails = append(fails, fmt.Sprintf("dead letters: none match %s%s", desc, listDL(got)))
		}
	}
	if len(unexpected) > 0 {
		fails = append(fails, fmt.Sprintf("dead letters: %d unexpected:%s", len(unexpected), indent(unexpected)))
	}
	return fails
}

func describeDL(e DeadLetterExpect, payload any) string {
	var parts []string
	if e.ReasonContains != "" {
		parts = append(parts, fmt.Sprintf("reason_contains %q", e.ReasonContains))
	}
	if e.Stage != "" {
		parts = append(parts, fmt.Sprintf("stage %q", e.Stage))
	}
	if payload != nil {
		parts = append(parts, "payload "+compact(payload))
	}
	if len(parts) == 0 {
		return "{} (any dead letter)"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func listDL(got []deadLetter) string {
	if len(got) == 0 {
		return "\ngot no dead letters"
	}
	var lines []string
	for _, d := range got {
		lines = append(lines, d.String())
	}
	return "\ngot:" + indent(lines)
}

func listRecords(got []*record.Record, f fields) string {
	if len(got) == 0 {
		return "\ngot no records"
	}
	lines := make([]string, len(got))
	for i, r := range got {
		lines[i] = view(r, f)
	}
	return "\ngot:" + indent(lines)
}

// indent lists lines, at most maxShown of them, one per line, indented.
func indent(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i == maxShown {
			fmt.Fprintf(&b, "\n    ... and %d more", len(lines)-maxShown)
			break
		}
		b.WriteString("\n    ")
		b.WriteString(l)
	}
	return b.String()
}

// diffLines compares want and got: in order, as a line diff (longest
// common subsequence); in any order, as multisets. It returns "" when they
// are equal, else the lines prefixed with "- " (wanted, missing), "+ "
// (got, unexpected) and, in order, "  " (equal).
func diffLines(want, got []string, ordered bool) string {
	if slices.Equal(want, got) {
		return ""
	}
	var out []string
	if !ordered {
		left := map[string]int{}
		for _, g := range got {
			left[g]++
		}
		same := 0
		for _, w := range want {
			if left[w] > 0 {
				left[w]--
				same++
				continue
			}
			out = append(out, "- "+w)
		}
		for _, g := range got {
			if left[g] > 0 {
				left[g]--
				out = append(out, "+ "+g)
			}
		}
		if len(out) == 0 {
			return ""
		}
		if same > 0 {
			out = append(out, fmt.Sprintf("  (%d more records as wanted)", same))
		}
		return "    " + strings.Join(out, "\n    ")
	}
	// lcs[i][j] is the LCS length of want[i:] and got[j:].
	lcs := make([][]int, len(want)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(got)+1)
	}
	for i := len(want) - 1; i >= 0; i-- {
		for j := len(got) - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case i < len(want) && j < len(got) && want[i] == got[j]:
			out = append(out, "  "+want[i])
			i, j = i+1, j+1
		case i < len(want) && (j == len(got) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+want[i])
			i++
		default:
			out = append(out, "+ "+got[j])
			j++
		}
	}
	return "    " + strings.Join(out, "\n    ")
}
