// Package fuel instruments a WebAssembly module so that a running guest
// calls into the host at a bounded interval: a mutable global counts down
// at every loop header (and at the entry of functions without loops), and
// when it reaches zero the guest calls the imported function
// ImportModule.ImportName, which returns the next allowance.
//
// That one host call is what makes time limits cheap and stops reliable on
// runtimes that compile guests to native code without preemption points
// (plugins/RATIONALE.md): the host checks its deadline and cancellation
// there, and the Go scheduler can preempt the goroutine (for the GC, for
// signal handling) there, which it cannot while the guest runs.
//
// Only the code, import, export, start, element, global, type and name
// sections are rewritten; a construct the instrumenter does not know
// (an unknown opcode, a GC type) makes Instrument fail, and the caller
// falls back to the runtime's own interruption.
package fuel

import (
	"errors"
	"fmt"
	"math"
)

// The imports of an instrumented module: ImportName () -> i32 returns the
// next allowance; OverflowName () -> () is called when the call depth
// passes the limit and must not return (the host traps the guest with
// ErrCallDepth).
const (
	ImportModule = "conveyor_internal"
	ImportName   = "refuel"
	OverflowName = "overflow"
)

// ErrCallDepth is the error a host's OverflowName function panics with.
var ErrCallDepth = errors.New("stack overflow: guest call depth over the limit")

// Result describes an instrumented module.
type Result struct {
	// Wasm is the instrumented module.
	Wasm []byte
	// Loops and Entries count the checks inserted at loop headers and at
	// function entries.
	Loops, Entries int
	// DepthBounded reports whether the call depth is bounded (not for
	// modules that use exception handling, whose unwinding would skip
	// the depth bookkeeping).
	DepthBounded bool
}

// errEH makes Instrument retry without depth bounding.
var errEH = errors.New("exception handling")

type section struct {
	id   byte
	body []byte
}

// Instrument rewrites wasm. initial is the fuel global's starting allowance;
// maxDepth > 0 also bounds the call depth: every function counts itself in
// a second global on entry and out again on every exit, and calls
// OverflowName past maxDepth (so that deep recursion costs the runtime's
// native stack a bounded amount).
func Instrument(wasm []byte, initial int32, maxDepth uint32) (Result, error) {
	res, err := instrument(wasm, initial, maxDepth)
	if errors.Is(err, errEH) {
		res, err = instrument(wasm, initial, 0)
	}
	return res, err
}

func instrument(wasm []byte, initial int32, maxDepth uint32) (Result, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return Result{}, errors.New("fuel: not a core WebAssembly module")
	}
	var secs []section
	r := reader{b: wasm, off: 8}
	for r.off < len(r.b) {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return Result{}, fmt.Errorf("fuel: section framing: %w", r.err)
		}
		secs = append(secs, section{id, body})
	}
	m := &module{secs: secs, maxDepth: maxDepth}
	if err := m.scan(); err != nil {
		return Result{}, fmt.Errorf("fuel: %w", err)
	}
	res, err := m.rewrite(initial)
	if err != nil {
		return Result{}, fmt.Errorf("fuel: %w", err)
	}
	return res, nil
}

type module struct {
	secs                   []section
	numTypes               uint32
	numImportedFuncs       uint32
	numImportedGlobals     uint32
	numGlobals             uint32 // defined
	hasType, hasImport     bool
	hasGlobal              bool
	refuelType, refuelFunc uint32
	fuelGlobal             uint32

	maxDepth                 uint32
	overflowType, overflowFn uint32
	depthGlobal              uint32
	types                    [][]byte // function types: results part, by index
	funcTypes                []uint32 // type index of each defined function
	extraTypes               [][]byte // types appended to the type section
	resultTypes              map[string]uint32
	fnIndex                  int // the defined function being rewritten
}

func (m *module) find(id byte) int {
	for i := range m.secs {
		if m.secs[i].id == id {
			return i
		}
	}
	return -1
}

// scan reads the counts that decide the new indices.
func (m *module) scan() error {
	if i := m.find(1); i >= 0 {
		r := reader{b: m.secs[i].body}
		m.numTypes = r.u32()
		m.hasType = true
		for range m.numTypes {
			if m.maxDepth == 0 {
				break
			}
			if r.byte() != 0x60 {
				return errors.New("unsupported type (not a function type)")
			}
			np := r.u32()
			r.bytes(int(np))
			start := r.off
			nr := r.u32()
			r.bytes(int(nr))
			m.types = append(m.types, r.b[start:r.off])
		}
		if r.err != nil {
			return r.err
		}
		for _, t := range m.types {
			for _, c := range t[1:] { // value types are single bytes unless GC types
				if c == 0x63 || c == 0x64 {
					return errEH // not EH, but the same answer: no depth bounding
				}
			}
		}
	}
	if i := m.find(3); i >= 0 && m.maxDepth > 0 {
		r := reader{b: m.secs[i].body}
		n := r.u32()
		for range n {
			m.funcTypes = append(m.funcTypes, r.u32())
		}
		if r.err != nil {
			return r.err
		}
	}
	if i := m.find(2); i >= 0 {
		m.hasImport = true
		r := reader{b: m.secs[i].body}
		n := r.u32()
		for range n {
			mod := r.name()
			r.name()
			if mod == ImportModule {
				return fmt.Errorf("the module imports from the reserved module %q", ImportModule)
			}
			switch kind := r.byte(); kind {
			case 0:
				r.u32()
				m.numImportedFuncs++
			case 1: // table: reftype, limits
				r.byte()
				r.limits()
			case 2:
				r.limits()
			case 3:
				r.byte()
				r.byte()
				m.numImportedGlobals++
			case 4:
				r.byte()
				r.u32()
			default:
				return fmt.Errorf("unknown import kind %d", kind)
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	if i := m.find(6); i >= 0 {
		m.hasGlobal = true
		r := reader{b: m.secs[i].body}
		m.numGlobals = r.u32()
		if r.err != nil {
			return r.err
		}
	}
	m.refuelType = m.numTypes
	m.overflowType = m.numTypes + 1
	m.refuelFunc = m.numImportedFuncs
	m.overflowFn = m.numImportedFuncs + 1
	m.fuelGlobal = m.numImportedGlobals + m.numGlobals
	m.depthGlobal = m.fuelGlobal + 1
	m.resultTypes = map[string]uint32{}
	return nil
}

// added is the number of imported functions the rewrite adds.
const added = 2

// funcIdx maps an old function index to the new one.
func (m *module) funcIdx(i uint32) uint32 {
	if i >= m.numImportedFuncs {
		return i + added
	}
	return i
}

// blockType returns the block type for a block with the results of the
// defined function i: 0x40, one value type, or a type index of a new
// [] -> results type.
func (m *module) blockType(i int) []byte {
	results := m.types[m.funcTypes[i]] // vec(valtype)
	r := reader{b: results}
	n := r.u32()
	switch n {
	case 0:
		return []byte{0x40}
	case 1:
		return []byte{results[r.off]}
	}
	key := string(results)
	idx, ok := m.resultTypes[key]
	if !ok {
		idx = m.numTypes + 2 + uint32(len(m.extraTypes))
		m.extraTypes = append(m.extraTypes, append([]byte{0x60, 0}, results...))
		m.resultTypes[key] = idx
	}
	return sleb(nil, int64(idx))
}

// order is the required order of known sections (custom sections, id 0,
// keep their place).
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

func (m *module) rewrite(initial int32) (Result, error) {
	var res Result
	// Make sure the type, import and global sections exist.
	m.ensure(1, []byte{0})
	m.ensure(2, []byte{0})
	m.ensure(6, []byte{0})
	// The code first: it decides which block types the type section needs.
	code := map[int][]byte{}
	for i, s := range m.secs {
		if s.id == 10 {
			body, err := m.code(s.body, &res)
			if err != nil {
				return res, err
			}
			code[i] = body
		}
	}
	res.DepthBounded = m.maxDepth > 0
	out := []byte("\x00asm\x01\x00\x00\x00")
	for i, s := range m.secs {
		body := s.body
		var err error
		switch s.id {
		case 1:
			body, err = appendToVec(body, []byte{0x60, 0, 1, 0x7f})
			if err == nil {
				body, err = appendToVec(body, []byte{0x60, 0, 0})
			}
			for _, t := range m.extraTypes {
				if err == nil {
					body, err = appendToVec(body, t)
				}
			}
		case 2:
			imp := append(name(ImportModule), name(ImportName)...)
			imp = append(imp, 0)
			imp = uleb(imp, uint64(m.refuelType))
			body, err = appendToVec(body, imp)
			ovf := append(name(ImportModule), name(OverflowName)...)
			ovf = append(ovf, 0)
			ovf = uleb(ovf, uint64(m.overflowType))
			if err == nil {
				body, err = appendToVec(body, ovf)
			}
		case 6:
			g := []byte{0x7f, 1, 0x41}
			g = sleb(g, int64(initial))
			g = append(g, 0x0b)
			body, err = appendToVec(body, g)
			if err == nil {
				body, err = appendToVec(body, []byte{0x7f, 1, 0x41, 0, 0x0b}) // depth
			}
		case 7:
			body, err = m.exports(body)
		case 8:
			r := reader{b: body}
			idx := r.u32()
			if r.err != nil {
				return res, r.err
			}
			body = uleb(nil, uint64(m.funcIdx(idx)))
		case 9:
			body, err = m.elements(body)
		case 10:
			body = code[i]
		case 0:
			body = m.custom(body)
		}
		if err != nil {
			return res, err
		}
		out = append(out, s.id)
		out = uleb(out, uint64(len(body)))
		out = append(out, body...)
	}
	res.Wasm = out
	return res, nil
}

// ensure inserts an empty section id where the order puts it.
func (m *module) ensure(id byte, body []byte) {
	if m.find(id) >= 0 {
		return
	}
	pos := len(m.secs)
	for i, s := range m.secs {
		if s.id != 0 && order[s.id] > order[id] {
			pos = i
			break
		}
	}
	m.secs = append(m.secs[:pos], append([]section{{id, body}}, m.secs[pos:]...)...)
}

func appendToVec(body, item []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := uleb(nil, uint64(n)+1)
	out = append(out, body[r.off:]...)
	return append(out, item...), nil
}

func (m *module) exports(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := uleb(nil, uint64(n))
	for range n {
		nm := r.name()
		kind := r.byte()
		idx := r.u32()
		if kind == 0 {
			idx = m.funcIdx(idx)
		}
		out = append(out, name(nm)...)
		out = append(out, kind)
		out = uleb(out, uint64(idx))
	}
	if r.err != nil || r.off != len(body) {
		return nil, errors.New("malformed export section")
	}
	return out, nil
}

func (m *module) elements(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := uleb(nil, uint64(n))
	for range n {
		flags := r.u32()
		out = uleb(out, uint64(flags))
		if flags > 7 {
			return nil, fmt.Errorf("unknown element segment flags %d", flags)
		}
		passiveOrDecl := flags&1 != 0
		explicitTable := flags&2 != 0
		exprs := flags&4 != 0
		if !passiveOrDecl && explicitTable || !passiveOrDecl && !explicitTable {
			if explicitTable {
				out = uleb(out, uint64(r.u32()))
			}
			start := r.off
			if err := skipConstExpr(&r); err != nil {
				return nil, err
			}
			out = append(out, body[start:r.off]...)
		}
		if flags&3 != 0 { // elemkind or reftype
			out = append(out, r.byte())
		}
		cnt := r.u32()
		out = uleb(out, uint64(cnt))
		for range cnt {
			if !exprs {
				out = uleb(out, uint64(m.funcIdx(r.u32())))
				continue
			}
			e, err := m.constExpr(&r)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		}
	}
	if r.err != nil || r.off != len(body) {
		return nil, errors.New("malformed element section")
	}
	return out, nil
}

// constExpr copies a constant expression, remapping ref.func.
func (m *module) constExpr(r *reader) ([]byte, error) {
	var out []byte
	for r.err == nil {
		op := r.byte()
		out = append(out, op)
		switch op {
		case 0x0b:
			return out, nil
		case 0xd2:
			out = uleb(out, uint64(m.funcIdx(r.u32())))
		case 0xd0:
			out = append(out, r.byte())
		case 0x23:
			out = uleb(out, uint64(r.u32()))
		case 0x41:
			out = sleb(out, r.s64())
		case 0x42:
			out = sleb(out, r.s64())
		default:
			return nil, fmt.Errorf("unsupported constant expression opcode %#x", op)
		}
	}
	return nil, r.err
}

func skipConstExpr(r *reader) error {
	m := &module{}
	_, err := m.constExpr(r)
	return err
}

// custom remaps the function indices of the "name" section's function and
// local names; other custom sections are copied. A name section that does
// not parse is dropped (names only serve stack traces).
func (m *module) custom(body []byte) []byte {
	r := reader{b: body}
	nm := r.name()
	if r.err != nil || nm != "name" {
		return body
	}
	out := name("name")
	for r.off < len(body) && r.err == nil {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if id == 1 || id == 2 {
			sr := reader{b: sub}
			n := sr.u32()
			ns := uleb(nil, uint64(n))
			for range n {
				ns = uleb(ns, uint64(m.funcIdx(sr.u32())))
				if id == 1 {
					ns = append(ns, name(sr.name())...)
					continue
				}
				start := sr.off
				k := sr.u32()
				for range k {
					sr.u32()
					sr.name()
				}
				ns = append(ns, sub[start:sr.off]...)
			}
			if sr.err != nil {
				return name("name") // drop the names rather than keep wrong ones
			}
			sub = ns
		}
		out = append(out, id)
		out = uleb(out, uint64(len(sub)))
		out = append(out, sub...)
	}
	if r.err != nil {
		return name("name")
	}
	return out
}

// check is the instrumentation inserted at a loop header or a function
// entry: decrement the fuel global; when it is no longer positive, call
// refuel and store its result.
func (m *module) check(out []byte) []byte {
	g := uleb(nil, uint64(m.fuelGlobal))
	out = append(out, 0x23)
	out = append(out, g...)
	out = append(out, 0x41, 0x01, 0x6b, 0x24) // i32.const 1, i32.sub, global.set
	out = append(out, g...)
	out = append(out, 0x23)
	out = append(out, g...)
	out = append(out, 0x41, 0x00, 0x4c, 0x04, 0x40, 0x10) // i32.const 0, i32.le_s, if, call
	out = uleb(out, uint64(m.refuelFunc))
	out = append(out, 0x24)
	out = append(out, g...)
	return append(out, 0x0b)
}

func (m *module) code(body []byte, res *Result) ([]byte, error) {
	r := reader{b: body}
	n := r.u32()
	out := uleb(nil, uint64(n))
	for i := range n {
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			return nil, r.err
		}
		m.fnIndex = int(i)
		nf, err := m.function(fn, res)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = uleb(out, uint64(len(nf)))
		out = append(out, nf...)
	}
	if r.off != len(body) {
		return nil, errors.New("malformed code section")
	}
	return out, nil
}

func (m *module) function(fn []byte, res *Result) ([]byte, error) {
	r := reader{b: fn}
	nl := r.u32()
	for range nl {
		r.u32()
		r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	locals := fn[:r.off]
	code := fn[r.off:]
	if len(code) == 0 || code[len(code)-1] != 0x0b {
		return nil, errors.New("function body does not end with end")
	}
	body, loops, err := m.instructions(code[:len(code)-1])
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), locals...)
	if m.maxDepth > 0 {
		// depth++; if depth > max: overflow()
		out = m.addDepth(out, 0x6a)
		out = append(out, 0x23)
		out = uleb(out, uint64(m.depthGlobal))
		out = append(out, 0x41)
		out = sleb(out, int64(m.maxDepth))
		out = append(out, 0x4b, 0x04, 0x40, 0x10) // i32.gt_u, if, call
		out = uleb(out, uint64(m.overflowFn))
		out = append(out, 0x0b)
	}
	if loops == 0 {
		out = m.check(out)
		res.Entries++
	}
	res.Loops += loops
	if m.maxDepth == 0 {
		out = append(out, body...)
		return append(out, 0x0b), nil
	}
	// block <results> body end; depth--; end: branches to the function's
	// label now leave through the depth bookkeeping.
	out = append(out, 0x02)
	out = append(out, m.blockType(m.fnIndex)...)
	out = append(out, body...)
	out = append(out, 0x0b)
	out = m.addDepth(out, 0x6b)
	return append(out, 0x0b), nil
}

// addDepth appends depth = depth op 1 (op 0x6a add, 0x6b sub).
func (m *module) addDepth(out []byte, op byte) []byte {
	g := uleb(nil, uint64(m.depthGlobal))
	out = append(out, 0x23)
	out = append(out, g...)
	out = append(out, 0x41, 0x01, op, 0x24)
	return append(out, g...)
}

// instructions copies an expression, remapping function indices and
// inserting a check after every loop's block type.
func (m *module) instructions(code []byte) ([]byte, int, error) {
	r := reader{b: code}
	out := make([]byte, 0, len(code)+len(code)/8)
	loops := 0
	for r.off < len(code) {
		start := r.off
		op := r.byte()
		switch {
		case op == 0x03: // loop
			r.blockType()
			out = append(out, code[start:r.off]...)
			out = m.check(out)
			loops++
			continue
		case m.maxDepth > 0 && (op == 0x06 || op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0a ||
			op == 0x18 || op == 0x19 || op == 0x1f):
			return nil, 0, errEH
		case m.maxDepth > 0 && (op == 0x0f || op == 0x12 || op == 0x13 || op == 0x15):
			// return and tail calls leave the function: count it out first.
			out = m.addDepth(out, 0x6b)
		}
		switch op {
		case 0x10, 0x12, 0xd2: // call, return_call, ref.func
			idx := r.u32()
			out = append(out, op)
			out = uleb(out, uint64(m.funcIdx(idx)))
			continue
		}
		if err := r.skipImmediates(op); err != nil {
			return nil, 0, err
		}
		if r.err != nil {
			return nil, 0, r.err
		}
		out = append(out, code[start:r.off]...)
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	return out, loops, nil
}

// skipImmediates skips the immediates of op (already read).
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x02 || op == 0x04 || op == 0x06: // block, if, try
		r.blockType()
	case op == 0x07 || op == 0x08 || op == 0x09 || op == 0x18: // catch, throw, rethrow, delegate
		r.u32()
	case op == 0x0c || op == 0x0d || op == 0xd5 || op == 0xd6: // br, br_if, br_on_null, br_on_non_null
		r.u32()
	case op == 0x0e: // br_table
		n := r.u32()
		for range uint64(n) + 1 {
			r.u32()
			if r.err != nil {
				break
			}
		}
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x14 || op == 0x15: // call_ref, return_call_ref
		r.u32()
	case op == 0x1c: // select t*
		n := r.u32()
		for range n {
			r.byte()
		}
	case op == 0x1f: // try_table
		r.blockType()
		n := r.u32()
		for range n {
			switch k := r.byte(); k {
			case 0, 1:
				r.u32()
				r.u32()
			case 2, 3:
				r.u32()
			default:
				return fmt.Errorf("unknown catch kind %d", k)
			}
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e:
		r.memarg()
	case op == 0x3f || op == 0x40:
		r.u32()
	case op == 0x41:
		r.s64()
	case op == 0x42:
		r.s64()
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0:
		r.s64() // heap type
	case op == 0xfc:
		return r.skipFC()
	case op == 0xfd:
		return r.skipFD()
	case op == 0xfe:
		sub := r.u32()
		if sub == 0x03 {
			r.byte()
		} else {
			r.memarg()
		}
	case op <= 0x01 || op == 0x05 || op == 0x0a || op == 0x0b || op == 0x0f || op == 0x19 || op == 0x1a || op == 0x1b:
	case op >= 0x45 && op <= 0xc4:
	case op == 0xd1 || op == 0xd3 || op == 0xd4:
	default:
		return fmt.Errorf("unsupported opcode %#x", op)
	}
	return nil
}

func (r *reader) skipFC() error {
	sub := r.u32()
	switch {
	case sub <= 7:
	case sub == 8: // memory.init
		r.u32()
		r.u32()
	case sub == 9 || sub == 13 || sub == 11 || sub >= 15 && sub <= 17:
		r.u32()
	case sub == 10 || sub == 12 || sub == 14:
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("unsupported opcode 0xfc %d", sub)
	}
	return nil
}

func (r *reader) skipFD() error {
	sub := r.u32()
	switch {
	case sub <= 11 || sub == 92 || sub == 93:
		r.memarg()
	case sub == 12 || sub == 13:
		r.bytes(16)
	case sub >= 21 && sub <= 34:
		r.byte()
	case sub >= 84 && sub <= 91:
		r.memarg()
		r.byte()
	case sub <= 0x113:
	default:
		return fmt.Errorf("unsupported opcode 0xfd %d", sub)
	}
	return nil
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = errors.New(msg)
	}
	r.off = len(r.b)
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || r.off+n > len(r.b) {
		r.fail("unexpected end")
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u32() uint32 {
	v := r.u64()
	if v > math.MaxUint32 {
		r.fail("number out of range")
	}
	return uint32(v)
}

func (r *reader) u64() uint64 {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("malformed LEB128")
	return 0
}

func (r *reader) s64() int64 {
	var v int64
	var shift uint
	for {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
		if shift >= 70 {
			r.fail("malformed LEB128")
			return 0
		}
	}
}

func (r *reader) name() string {
	n := r.u32()
	return string(r.bytes(int(n)))
}

func (r *reader) limits() {
	flags := r.byte()
	r.u64()
	if flags&1 != 0 {
		r.u64()
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 {
		r.u32() // memory index (multi-memory)
	}
	r.u64()
}

// blockType reads a block type: 0x40, a value type, or an s33 type index.
func (r *reader) blockType() {
	if r.off < len(r.b) && (r.b[r.off] == 0x63 || r.b[r.off] == 0x64) {
		r.fail("GC reference block types are not supported")
		return
	}
	r.s64()
}

func name(s string) []byte { return append(uleb(nil, uint64(len(s))), s...) }

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
