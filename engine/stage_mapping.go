package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/conveyor-etl/conveyor-wasm/conditions"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/decode"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/jsonsplice"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
)

func init() {
	registerStage(&stageKind{
		typ:     StageMapping,
		doc:     "changes the payload, the key and the event time with CEL expressions: payload replaces the payload, set stores values at dot paths, remove deletes them",
		keys:    []string{"set/remove", "payload", "key", "event_time"},
		traits:  stageTraits{stateless: true},
		compile: compileMapping,
		build:   func(_ *Runner, n *node) (processor, error) { return n.impl.(*mappingProc), nil },
	})
}

// mappingProc is a compiled mapping stage. Every expression reads the
// record as it arrived at the stage (as a Bloblang mapping reads `this`),
// so the order of the set entries changes where new members go, never a
// value; the changes are then applied in order: payload, set, remove, key,
// event_time.
type mappingProc struct {
	payload   *conditions.ValueProgram
	set       []mapSetter
	remove    []jsonsplice.Path
	key       *conditions.ValueProgram
	eventTime *conditions.ValueProgram
	// overhead bounds what set adds to a payload besides the values.
	overhead int
}

type mapSetter struct {
	path jsonsplice.Path
	val  *conditions.ValueProgram
	// nameQuote is the path's first member name and a closing quote,
	// when the name has nothing to escape (else nil): absentTop looks
	// for it.
	nameQuote []byte
}

// nameQuote is `name"` when name is written in JSON as is (no quote,
// backslash or control character), else nil.
func nameQuote(name string) []byte {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' || c < 0x20 {
			return nil
		}
	}
	return []byte(name + `"`)
}

// absentTop reports whether the valid JSON doc is certainly a compact,
// non-empty object (it starts with {" and ends with }) without the
// member whose name nq holds. It is setResult's check for a document
// nobody parsed, with the name's part done once at compile time, and
// answers false (setResult then decides) where unsure: a document with
// an escape (a name might be written escaped), white space at the ends,
// or the quoted name anywhere in it.
func absentTop(doc, nq []byte) bool {
	n := len(doc)
	return nq != nil && n > 2 && doc[0] == '{' && doc[1] == '"' && doc[n-1] == '}' &&
		bytes.IndexByte(doc, '\\') < 0 && !containsQuoted(doc, nq)
}

// containsQuoted is bytes.Contains(doc, `"`+nq) (nq is `name"`). It looks
// for nq and then at the byte before it: a JSON document is full of
// quotes, and bytes.Index stops at each occurrence of the needle's first
// byte, which for a name is usually a rarer letter.
func containsQuoted(doc, nq []byte) bool {
	for off := 0; ; {
		j := bytes.Index(doc[off:], nq)
		if j < 0 {
			return false
		}
		if k := off + j; k > 0 && doc[k-1] == '"' {
			return true
		}
		off += j + 1
	}
}

func compileMapping(c *compiler, n *node) {
	s := n.stage
	if len(s.Set) == 0 && len(s.Remove) == 0 && s.Payload == nil && s.Key == nil && s.EventTimeExpr == nil {
		c.at(s.At, "stage %q: a mapping stage needs payload, set, remove, key or event_time", s.ID)
	}
	m := &mappingProc{}
	env, file := c.pl.env, c.p.File
	compile := func(what string, e *Expr, f func(*conditions.Env, string) (*conditions.ValueProgram, error)) *conditions.ValueProgram {
		if e == nil {
			return nil
		}
		vp, err := f(env, file)
		if err != nil {
			c.add(withContext(err, fmt.Sprintf("stage %q: %s: ", s.ID, what)))
		}
		return vp
	}
	m.payload = compile("payload", s.Payload, s.Payload.compileJSON)
	m.key = compile("key", s.Key, s.Key.compile)
	m.eventTime = compile("event_time", s.EventTimeExpr, s.EventTimeExpr.compile)

	// set: in file order (the order of the entries' positions), or by path
	// for a Pipeline built in Go, whose map has no order.
	paths := make([]string, 0, len(s.Set))
	for k := range s.Set {
		paths = append(paths, k)
	}
	slices.SortFunc(paths, func(a, b string) int {
		pa, pb := s.Set[a].pos(), s.Set[b].pos()
		if pa.Line != pb.Line {
			return pa.Line - pb.Line
		}
		if pa.Col != pb.Col {
			return pa.Col - pb.Col
		}
		return strings.Compare(a, b)
	})
	for _, k := range paths {
		e := s.Set[k]
		at := s.At
		if e != nil && e.node != nil {
			at = e.pos()
		}
		if e == nil {
			c.at(at, "stage %q: set %q: missing expression", s.ID, k)
			continue
		}
		p, err := jsonsplice.ParsePath(k)
		if err != nil {
			c.at(at, "stage %q: set %q: %v", s.ID, k, err)
			continue
		}
		for _, prev := range m.set {
			if a, b := prev.path.String(), k; pathWithin(a, b) || pathWithin(b, a) {
				c.at(at, "stage %q: set %q and %q collide: one is inside the other", s.ID, a, b)
			}
		}
		vp, err := e.compileJSON(env, file)
		if err != nil {
			c.add(withContext(err, fmt.Sprintf("stage %q: set %q: ", s.ID, k)))
			continue
		}
		m.set = append(m.set, mapSetter{path: p, val: vp, nameQuote: nameQuote(p.Segments()[0])})
		m.overhead += p.Overhead()
	}
	for _, k := range s.Remove {
		p, err := jsonsplice.ParsePath(k)
		if err != nil {
			c.at(s.At, "stage %q: remove %q: %v", s.ID, k, err)
			continue
		}
		for _, st := range m.set {
			if pathWithin(st.path.String(), k) {
				c.at(s.At, "stage %q: remove %q would remove what set %q stores", s.ID, k, st.path)
			}
		}
		m.remove = append(m.remove, p)
	}
	n.impl = m
}

// withContext puts prefix before the message of a (positioned) CEL
// compile error, keeping its position and caret.
func withContext(err error, prefix string) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, withContext(e, prefix))
		}
		return errors.Join(out...)
	}
	var ce *conditions.Error
	if errors.As(err, &ce) {
		c := *ce
		c.Msg = prefix + c.Msg
		return &c
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// pathWithin reports whether dot path a is path b or lies inside it.
func pathWithin(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+".")
}

// pos is where the expression is written (the zero Position in Go).
func (e *Expr) pos() Position {
	if e == nil || e.node == nil {
		return Position{}
	}
	return decode.At(e.file, e.node)
}

// compileJSON compiles the expression as a value written as JSON.
func (e *Expr) compileJSON(env *conditions.Env, file string) (*conditions.ValueProgram, error) {
	src := conditions.Source{File: file}
	if e.node != nil {
		src = conditions.NodeSource(e.file, e.node)
	}
	return env.CompileJSON(e.Src, src)
}

// mapScratch is a worker's per-batch scratch: the values of one record's
// set entries, and two buffers the payload passes through between edits.
type mapScratch struct {
	vals []byte
	ends []int
	a, b []byte
}

var mapScratchPool = sync.Pool{New: func() any { return new(mapScratch) }}

func (m *mappingProc) process(_ context.Context, bc *batchCtx, in, out []*record.Record) []*record.Record {
	sc := mapScratchPool.Get().(*mapScratch)
	defer mapScratchPool.Put(sc)
	// The new payloads of the batch share one allocation: records keep
	// sub-slices of it (capacity capped, so no record can grow into the
	// next one's bytes).
	var slab []byte
	if m.payload != nil || len(m.set) > 0 || len(m.remove) > 0 {
		size := 0
		for _, r := range in {
			size += len(r.Payload) + m.overhead + 16*len(m.set)
		}
		slab = make([]byte, 0, size)
	}
	for _, r := range in {
		var (
			reason string
			ok     bool
		)
		if slab, reason, ok = m.apply(r, sc, slab); !ok {
			bc.deadLetter(r, fmt.Sprintf("mapping %q: %s", bc.stage, reason))
			continue
		}
		out = append(out, r)
	}
	return out
}

// apply maps one record, appending its new payload (if any) to slab. On
// failure it leaves r unchanged and returns the dead-letter reason.
func (m *mappingProc) apply(r *record.Record, sc *mapScratch, slab []byte) (_ []byte, reason string, ok bool) {
	// Evaluate every expression against the record as it arrived.
	var err error
	doc, parsed := r.Payload, false
	if m.payload != nil {
		if sc.a, err = m.payload.EvalJSON(r, sc.a[:0]); err != nil {
			return slab, "payload: " + evalCause(err), false
		}
		doc = sc.a
	}
	sc.vals, sc.ends = sc.vals[:0], sc.ends[:0]
	for _, s := range m.set {
		if sc.vals, err = s.val.EvalJSON(r, sc.vals); err != nil {
			return slab, fmt.Sprintf("set %q: %s", s.path, evalCause(err)), false
		}
		sc.ends = append(sc.ends, len(sc.vals))
	}
	key := r.Key
	if m.key != nil {
		if key, err = m.key.EvalString(r); err != nil {
			return slab, "key: " + evalCause(err), false
		}
	}
	et := r.EventTime
	if m.eventTime != nil {
		if et, err = m.eventTime.EvalTime(r); err != nil {
			return slab, "event_time: " + evalCause(err), false
		}
	}

	// Apply: each edit reads cur and writes the other scratch buffer, the
	// last one writes the slab.
	edits := len(m.set) + len(m.remove)
	if m.payload != nil || edits > 0 {
		// The parse of the arriving payload (CEL made it) answers whether
		// a top-level member is absent, for the first edit only.
		parsed = m.payload == nil && r.Parsed()
		valid := m.payload != nil || r.JSONValidated()
		cur, spare := doc, &sc.b // doc is the payload or sc.a
		start := len(slab)
		for i := 0; i < edits; i++ {
			dst := (*spare)[:0]
			if i == edits-1 {
				dst = slab
			}
			var next []byte
			if i < len(m.set) {
				s := m.set[i]
				lo := 0
				if i > 0 {
					lo = sc.ends[i-1]
				}
				next, err = m.setOne(dst, cur, r, parsed && i == 0, &s, sc.vals[lo:sc.ends[i]])
				if err != nil {
					return slab[:start], fmt.Sprintf("set %q: %s", s.path, notObject(err)), false
				}
			} else {
				p := m.remove[i-len(m.set)]
				if next, _, err = p.AppendRemove(dst, cur); err != nil {
					return slab[:start], fmt.Sprintf("remove %q: %s", p, notObject(err)), false
				}
			}
			if i == edits-1 {
				slab = next
			} else {
				// Swap: the buffer just written becomes cur; the other
				// becomes the spare (never the caller's payload).
				*spare = next
				cur = next
				if spare == &sc.b {
					spare = &sc.a
				} else {
					spare = &sc.b
				}
			}
		}
		if edits == 0 {
			slab = append(slab, doc...)
		}
		r.SetPayload(slab[start:len(slab):len(slab)])
		if valid {
			r.MarkValidJSON() // valid values spliced into valid JSON
		}
	}
	r.Key, r.EventTime = key, et
	return slab, "", true
}

// setOne stores val at s's path in doc, appended to dst.
func (m *mappingProc) setOne(dst, doc []byte, r *record.Record, useParse bool, s *mapSetter, val []byte) ([]byte, error) {
	if useParse {
		if v, err := r.JSON(); err == nil {
			return setResult(dst, doc, v, s.path, val)
		}
	} else if absentTop(doc, s.nameQuote) {
		// The common case, a new member on a source's compact object.
		return s.path.AppendNew(dst, doc, false, val), nil
	}
	return setResult(dst, doc, nil, s.path, val)
}

// evalCause is an evaluation error without the expression (the reason
// names the field instead).
func evalCause(err error) string {
	var ee *conditions.EvalError
	if errors.As(err, &ee) {
		return ee.Err.Error()
	}
	return err.Error()
}

// notObject words the splicer's errors for a dead-letter reason.
func notObject(err error) string {
	var ne *jsonsplice.NotObjectError
	if errors.As(err, &ne) && ne.Path == "" {
		return "the payload is not a JSON object"
	}
	var se *jsonsplice.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON payload: " + se.Error()
	}
	return err.Error()
}
