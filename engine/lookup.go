package engine

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"weak"

	"github.com/buger/jsonparser"
	"github.com/conveyor-etl/conveyor-wasm/connectors"
	"github.com/conveyor-etl/conveyor-wasm/engine/internal/jsonsplice"
	"github.com/conveyor-etl/conveyor-wasm/engine/record"
	"github.com/valyala/fastjson"
)

// Lookup stages enrich each record with a document from a lookup service:
//
//   - The key is made of the record fields key_mappings names, each a dot
//     path into the JSON payload, or `key` for the record key. A missing
//     field (or an empty record key, or a null, object or array value) makes
//     the record a miss; values compare by their canonical text
//     (connectors.AppendKey: the string "42" and the number 42 are one key).
//   - The stage looks a whole batch up with one LookupBatch call.
//   - A found document is stored in the payload at result_field (a dot path;
//     missing objects on the way are created, an existing non-object on the
//     way dead-letters the record). The rest of the payload is kept byte for
//     byte; an existing result_field member is replaced in place.
//   - A miss follows miss_strategy: skip (pass unchanged), drop, dead_letter,
//     default (store the default value) or fail (stop the run; the record is
//     dead-lettered so that it is not lost).
//   - A payload that is not a JSON object, and a failed LookupBatch,
//     dead-letter the record with the reason.

// ErrLookupMiss is what a run fails with when a lookup stage whose
// miss_strategy is fail does not find a record's key; RoutingEngine.Lookup
// returns it (wrapped) for such a stage too.
var ErrLookupMiss = errors.New("lookup key not found")

func init() {
	registerStage(&stageKind{
		typ:     StageLookup,
		doc:     "enriches each record with a document from a lookup service, found by key",
		keys:    []string{"lookup"},
		service: capLookup,
		traits:  stageTraits{stateless: true, blocking: true},
		compile: func(c *compiler, n *node) {
			s := n.stage
			if s.Lookup == nil {
				c.at(s.At, "stage %q: a lookup stage needs lookup settings", s.ID)
				return
			}
			if sv := c.needService(n, lookupServiceName(s), capLookup); sv != nil {
				checkLookup(c, n, sv)
			}
		},
		build: (*Runner).newLookup,
	})
}

// lookupServiceName is the service a lookup stage names.
func lookupServiceName(s *Stage) string {
	if s.Lookup.LookupService != "" {
		return s.Lookup.LookupService
	}
	return s.ServiceName
}

// checkLookup validates a lookup stage's settings against its service (an
// empty miss_strategy means skip).
func checkLookup(cp *compiler, n *node, sv *service) {
	s := n.stage
	c := s.Lookup
	at := c.At
	errs := cp
	if len(c.KeyMappings) == 0 {
		errs.at(at, "stage %q: lookup needs at least one key_mappings entry", s.ID)
	}
	var allowed []string
	if kf, ok := sv.cfg.(connectors.KeyFielder); ok {
		allowed = kf.KeyFields()
	}
	if sv.wasm != nil && len(c.KeyMappings) > 1 {
		errs.at(at, "stage %q: a wasm lookup service is asked one key per record; key_mappings has %d entries", s.ID, len(c.KeyMappings))
	}
	var seen []string
	for i, m := range c.KeyMappings {
		at := at
		if m.At.Line > 0 {
			at = m.At
		}
		if err := checkPath(m.RecordField); err != nil {
			errs.at(at, "stage %q: key_mappings[%d].record_field: %v", s.ID, i, err)
		}
		if err := checkPath(m.LookupField); err != nil {
			errs.at(at, "stage %q: key_mappings[%d].lookup_field: %v", s.ID, i, err)
			continue
		}
		if slices.Contains(seen, m.LookupField) {
			errs.at(at, "stage %q: key_mappings[%d]: lookup_field %q is mapped twice", s.ID, i, m.LookupField)
		}
		seen = append(seen, m.LookupField)
		if allowed != nil && !slices.Contains(allowed, m.LookupField) {
			errs.at(at, "stage %q: key_mappings[%d]: service %q cannot look up by %q (it can by: %s)%s", s.ID, i, sv.name,
				m.LookupField, strings.Join(allowed, ", "), didYouMeanIn(m.LookupField, allowed))
		}
	}
	if c.ResultField == "" {
		errs.at(at, "stage %q: lookup needs a result_field", s.ID)
	} else if err := checkPath(c.ResultField); err != nil {
		errs.at(at, "stage %q: result_field: %v", s.ID, err)
	}
	switch miss := cmp.Or(c.MissStrategy, LookupMissSkip); miss {
	case LookupMissSkip, LookupMissDrop, LookupMissDeadLetter, LookupMissFail:
		if !c.Default.isZero() {
			errs.at(c.Default.pos(cp.p.File, at), "stage %q: default is only for miss_strategy default (miss_strategy is %s)", s.ID, miss)
		}
	case LookupMissDefault:
		if c.Default.isZero() {
			errs.at(at, "stage %q: miss_strategy default needs a default value", s.ID)
		} else if _, err := c.Default.json(); err != nil {
			errs.at(c.Default.pos(cp.p.File, at), "stage %q: default: %v", s.ID, err)
		}
	default:
		errs.at(at, "stage %q: unknown miss_strategy %q (want skip, drop, dead_letter, default or fail)%s", s.ID, c.MissStrategy,
			didYouMeanIn(string(c.MissStrategy), []string{"skip", "drop", "dead_letter", "default", "fail"}))
	}
}

func checkPath(path string) error {
	if path == "" {
		return errors.New("empty field path")
	}
	if slices.Contains(strings.Split(path, "."), "") || !utf8.ValidString(path) {
		return fmt.Errorf("bad field path %q", path)
	}
	return nil
}

// lookupStage is a compiled lookup stage: the processor the runtime runs and
// what RoutingEngine.Lookup uses.
type lookupStage struct {
	id      string
	svcName string
	svc     connectors.LookupService
	fields  []string        // lookup fields, one per key part
	from    [][]string      // record field paths; nil: the record key
	result  jsonsplice.Path // result_field path
	// resultQuote is result_field's first name and a closing quote, when
	// the name needs no escaping (else nil): absentTop looks for it.
	resultQuote []byte
	miss        LookupMissStrategy
	def         []byte // JSON, with miss_strategy default

	scratch sync.Pool // *lookupScratch
}

func newLookupStage(n *node, svc connectors.LookupService) (*lookupStage, error) {
	c := n.stage.Lookup
	ls := &lookupStage{
		id:      n.id,
		svcName: lookupServiceName(n.stage),
		svc:     svc,
		result:  jsonsplice.MustParsePath(c.ResultField), // checked by Compile
		miss:    c.MissStrategy,
	}
	ls.resultQuote = nameQuote(ls.result.Segments()[0])
	if ls.miss == "" {
		ls.miss = LookupMissSkip
	}
	allowed := svc.KeyFields()
	for _, m := range c.KeyMappings {
		if allowed != nil && !slices.Contains(allowed, m.LookupField) {
			return nil, fmt.Errorf("lookup service %q cannot look up by %q (it can by: %s)", ls.svcName, m.LookupField, strings.Join(allowed, ", "))
		}
		ls.fields = append(ls.fields, m.LookupField)
		var path []string
		if m.RecordField != "key" {
			path = strings.Split(m.RecordField, ".")
		}
		ls.from = append(ls.from, path)
	}
	if ls.miss == LookupMissDefault {
		def, err := c.Default.json()
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		ls.def = def
	}
	return ls, nil
}

// lookupService returns the built service a lookup stage names, building
// it on first use; stages naming the same service share it.
func (r *Runner) lookupService(name string) (connectors.LookupService, error) {
	if svc, ok := r.lookups[name]; ok {
		return svc, nil
	}
	sv := r.pl.services[name]
	if sv.wasm != nil {
		p, err := r.plugin(name)
		if err != nil {
			return nil, err
		}
		if !p.Capabilities().Lookup {
			return nil, fmt.Errorf("service %q: the plugin exports no conveyor_lookup (ABI 1.1): it cannot be a lookup service", name)
		}
		svc := &wasmLookup{p: p}
		if r.lookups == nil {
			r.lookups = map[string]connectors.LookupService{}
		}
		r.lookups[name] = svc
		return svc, nil
	}
	svc, err := connectors.BuildLookup(sv.spec, sv.cfg, r.env(name))
	if err != nil {
		return nil, err
	}
	if r.lookups == nil {
		r.lookups = map[string]connectors.LookupService{}
	}
	r.lookups[name] = svc
	r.closers = append(r.closers, func(context.Context) error {
		if err := svc.Close(); err != nil {
			return fmt.Errorf("close lookup service %q: %w", name, err)
		}
		return nil
	})
	return svc, nil
}

func (r *Runner) newLookup(n *node) (processor, error) {
	svc, err := r.lookupService(lookupServiceName(n.stage))
	if err != nil {
		return nil, err
	}
	return newLookupStage(n, svc)
}

// Per-record states in a batch, besides an index into the batch's keys.
const (
	lookupHandled = -1 // dead-lettered before the lookup
	lookupMissed  = -2 // no usable key
)

// lookupScratch is one batch's reusable buffers.
type lookupScratch struct {
	state []int      // per input record: index into keys, or a state above
	ends  []int      // end offset in buf of each key part
	buf   []byte     // key parts, back to back
	parts []string   // views into buf
	keys  [][]string // views into parts
	res   [][]byte
}

// appendKey appends the record's key parts to buf and their end offsets to
// ends; ok is false when the record has no usable key (a miss).
func (ls *lookupStage) appendKey(rec *record.Record, v *fastjson.Value, buf []byte, ends []int) (_ []byte, _ []int, ok bool) {
	for _, path := range ls.from {
		if path == nil {
			if rec.Key == "" {
				return buf, ends, false
			}
			buf = append(buf, rec.Key...)
		} else if buf, ok = connectors.AppendKey(buf, v.Get(path...)); !ok {
			return buf, ends, false
		}
		ends = append(ends, len(buf))
	}
	return buf, ends, true
}

// scanKey is appendKey for a payload its source validated: the key fields
// are scanned from the bytes instead of parsing the document, which costs
// a fraction of a parse and allocates nothing. decided is false when the
// scan cannot tell (a payload not known to be valid JSON, or not an
// object): the caller parses then.
func (ls *lookupStage) scanKey(rec *record.Record, buf []byte, ends []int) (_ []byte, _ []int, ok, decided bool) {
	if !rec.JSONValidated() || rec.Parsed() {
		return buf, ends, false, false
	}
	p := rec.Payload
	i := 0
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	if i == len(p) || p[i] != '{' {
		return buf, ends, false, false
	}
	if bytes.IndexByte(p, '\\') >= 0 {
		// Escapes (in keys above all) are where scanners and parsers
		// disagree on which duplicate key counts: leave it to the parser.
		return buf, ends, false, false
	}
	for _, path := range ls.from {
		if path == nil {
			if rec.Key == "" {
				return buf, ends, false, true
			}
			buf = append(buf, rec.Key...)
		} else {
			var raw []byte
			if len(path) == 1 {
				// Escape-free, valid: a scan that trusts both.
				var found, sure bool
				if raw, found, sure = topMember(p[i:], path[0]); !sure {
					return buf, ends, false, false
				} else if !found {
					return buf, ends, false, true
				}
				if buf, ok = connectors.AppendKeyRaw(buf, raw); !ok {
					return buf, ends, false, true
				}
				ends = append(ends, len(buf))
				continue
			}
			raw, typ, off, err := jsonparser.Get(p, path...)
			switch {
			case errors.Is(err, jsonparser.KeyPathNotFoundError):
				return buf, ends, false, true
			case err != nil:
				return buf, ends, false, false
			case typ == jsonparser.String:
				raw = p[off-len(raw)-2 : off] // with its quotes
			}
			if buf, ok = connectors.AppendKeyRaw(buf, raw); !ok {
				return buf, ends, false, true
			}
		}
		ends = append(ends, len(buf))
	}
	return buf, ends, true, true
}

// topMember returns the value of the first top-level member called name
// in doc, which must start with '{' and be valid JSON without a backslash
// (so that every string ends at the next quote and every name is written
// as is): a string with its quotes, other values as their text. found is
// false when there is no such member; sure is false when doc does not
// look as it must (the caller then asks the parser).
func topMember(doc []byte, name string) (raw []byte, found, sure bool) {
	if len(doc) == 0 || doc[0] != '{' {
		return nil, false, false
	}
	i := 1
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil, false, false
		}
		switch doc[i] {
		case '}':
			return nil, false, true
		case '"':
		default:
			return nil, false, false
		}
		j := bytes.IndexByte(doc[i+1:], '"')
		if j < 0 {
			return nil, false, false
		}
		key := doc[i+1 : i+1+j]
		i = skipSpace(doc, i+j+2)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false, false
		}
		i = skipSpace(doc, i+1)
		end := skipValue(doc, i)
		if end < 0 {
			return nil, false, false
		}
		if string(key) == name {
			return doc[i:end], true, true
		}
		i = skipSpace(doc, end)
		if i >= len(doc) {
			return nil, false, false
		}
		switch doc[i] {
		case ',':
			i++
		case '}':
			return nil, false, true
		default:
			return nil, false, false
		}
	}
}

// skipSpace returns the index of the first byte at or after i in doc that
// is not JSON white space.
func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at doc[i:] (valid and
// escape-free, as for topMember), or -1.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		j := bytes.IndexByte(doc[i+1:], '"')
		if j < 0 {
			return -1
		}
		return i + j + 2
	case '{', '[':
		depth := 0
		for ; i < len(doc); i++ {
			switch doc[i] {
			case '"':
				j := bytes.IndexByte(doc[i+1:], '"')
				if j < 0 {
					return -1
				}
				i += j + 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	start := i
	for i < len(doc) {
		switch doc[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	return -1
}

// describeKey names a record's key for messages: customer_id="c1", with
// <missing> for a field that gives no key.
func (ls *lookupStage) describeKey(rec *record.Record, v *fastjson.Value) string {
	var b strings.Builder
	for i, path := range ls.from {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ls.fields[i])
		b.WriteByte('=')
		var part []byte
		ok := true
		if path == nil {
			part, ok = []byte(rec.Key), rec.Key != ""
		} else {
			part, ok = connectors.AppendKey(nil, v.Get(path...))
		}
		if ok {
			b.WriteString(strconv.Quote(string(part)))
		} else {
			b.WriteString("<missing>")
		}
	}
	return b.String()
}

// payloadObject parses rec's payload, which must be a JSON object.
func (ls *lookupStage) payloadObject(rec *record.Record) (*fastjson.Value, error) {
	v, err := rec.JSON()
	if err != nil {
		return nil, fmt.Errorf("lookup %q: payload is not JSON: %w", ls.id, err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("lookup %q: payload is a JSON %s, not an object", ls.id, v.Type())
	}
	return v, nil
}

func (ls *lookupStage) process(ctx context.Context, w *batchCtx, in, out []*record.Record) []*record.Record {
	sc, _ := ls.scratch.Get().(*lookupScratch)
	if sc == nil {
		sc = &lookupScratch{}
	}
	defer ls.scratch.Put(sc)
	sc.state, sc.ends, sc.buf = sc.state[:0], sc.ends[:0], sc.buf[:0]
	nkeys := 0
	for _, rec := range in {
		start, bufStart := len(sc.ends), len(sc.buf)
		var ok, decided bool
		sc.buf, sc.ends, ok, decided = ls.scanKey(rec, sc.buf, sc.ends)
		if !decided {
			sc.buf, sc.ends = sc.buf[:bufStart], sc.ends[:start]
			v, err := ls.payloadObject(rec)
			if err != nil {
				w.deadLetter(rec, err.Error())
				sc.state = append(sc.state, lookupHandled)
				continue
			}
			sc.buf, sc.ends, ok = ls.appendKey(rec, v, sc.buf, sc.ends)
		}
		if !ok {
			sc.ends = sc.ends[:start]
			sc.state = append(sc.state, lookupMissed)
			continue
		}
		sc.state = append(sc.state, nkeys)
		nkeys++
	}

	// The key strings view buf, which no longer grows; the service does not
	// keep them past the call.
	nf := len(ls.fields)
	sc.parts, sc.keys = sc.parts[:0], sc.keys[:0]
	prev := 0
	for _, end := range sc.ends {
		sc.parts = append(sc.parts, stringOf(sc.buf[prev:end]))
		prev = end
	}
	for k := range nkeys {
		sc.keys = append(sc.keys, sc.parts[k*nf:(k+1)*nf:(k+1)*nf])
	}
	if cap(sc.res) < nkeys {
		sc.res = make([][]byte, nkeys)
	}
	res := sc.res[:nkeys]
	clear(res)
	defer clear(sc.res[:nkeys]) // drop references to the service's documents
	if nkeys > 0 {
		if err := ls.svc.LookupBatch(ctx, ls.fields, sc.keys, res); err != nil {
			for i, rec := range in {
				if sc.state[i] < 0 {
					continue
				}
				sc.state[i] = lookupHandled
				if ctx.Err() != nil {
					end(rec, record.Unprocessed) // the run is stopping
					continue
				}
				w.deadLetter(rec, fmt.Sprintf("lookup %q: service %q: %v", ls.id, ls.svcName, err))
			}
		}
	}

	// One allocation holds every enriched payload of the batch.
	size := 0
	for i, rec := range in {
		if k := sc.state[i]; k >= 0 && res[k] != nil {
			size += len(rec.Payload) + len(res[k]) + ls.result.Overhead()
		} else if ls.miss == LookupMissDefault && k != lookupHandled {
			size += len(rec.Payload) + len(ls.def) + ls.result.Overhead()
		}
	}
	var slab []byte // the records own it: not scratch
	if size > 0 {
		slab = make([]byte, 0, size)
	}

	for i, rec := range in {
		k := sc.state[i]
		if k == lookupHandled {
			continue
		}
		val := []byte(nil)
		if k >= 0 {
			val = res[k]
		}
		if val == nil {
			switch ls.miss {
			case LookupMissSkip:
				out = append(out, rec)
				continue
			case LookupMissDrop:
				end(rec, record.Dropped)
				continue
			case LookupMissDeadLetter, LookupMissFail:
				v, _ := rec.JSON()
				reason := fmt.Sprintf("lookup %q: no match in %q for %s", ls.id, ls.svcName, ls.describeKey(rec, v))
				if ls.miss == LookupMissFail {
					w.fail(fmt.Errorf("stage %q: %w: %s in %q for record %s", ls.id, ErrLookupMiss, ls.describeKey(rec, v), ls.svcName, describe(rec)))
					reason += " (miss_strategy: fail)"
				}
				w.deadLetter(rec, reason)
				continue
			}
			val = ls.def
		}
		start := len(slab)
		var err error
		slab, err = ls.setResult(slab, rec, val)
		if err != nil {
			slab = slab[:start]
			w.deadLetter(rec, fmt.Sprintf("lookup %q: result_field %q: %v", ls.id, ls.result, err))
			continue
		}
		rec.SetPayload(slab[start:len(slab):len(slab)])
		out = append(out, rec)
	}
	return out
}

// LookupResult is what RoutingEngine.Lookup found for a record.
type LookupResult struct {
	// Found reports whether the service has the record's key.
	Found bool
	// Value is the JSON document found, or the stage's default value on a
	// miss with miss_strategy default; nil otherwise. It must not be
	// modified.
	Value []byte
	// Record is the record as the stage would pass it on: a copy of the
	// input with Value stored at result_field, the input itself on a miss
	// with miss_strategy skip, or nil when the stage would drop or
	// dead-letter it.
	Record *Record
}

// Lookup runs lookup stage `stage` of p on one record, as the stage would:
// it looks the record's key up in the stage's lookup service and returns
// what was found and the enriched record. The input record is not modified.
// A miss with miss_strategy fail is an error wrapping ErrLookupMiss, as are
// a payload that is not a JSON object and a failing service.
//
// The pipeline is compiled on first use, and the stage's service is built
// on the first Lookup that needs it (a static table is read then). The
// services are kept, one per pipeline, for later calls, and closed when
// the Pipeline is garbage collected; the batch runtime (Runner) builds its
// own.
func (e *RoutingEngine) Lookup(ctx context.Context, p *Plan, stage string, r *Record) (LookupResult, error) {
	n, ok := p.byID[stage]
	if !ok || n.stage == nil || n.stage.Type != StageLookup {
		return LookupResult{}, fmt.Errorf("lookup: %q is not a lookup stage", stage)
	}
	ls, err := lookupsOf(p).stage(p, n)
	if err != nil {
		return LookupResult{}, err
	}
	v, err := ls.payloadObject(r)
	if err != nil {
		return LookupResult{}, err
	}
	var val []byte
	if buf, ends, ok := ls.appendKey(r, v, nil, nil); ok {
		key := make([]string, len(ends))
		prev := 0
		for i, end := range ends {
			key[i], prev = string(buf[prev:end]), end
		}
		res := [][]byte{nil}
		if err := ls.svc.LookupBatch(ctx, ls.fields, [][]string{key}, res); err != nil {
			return LookupResult{}, fmt.Errorf("lookup %q: service %q: %w", ls.id, ls.svcName, err)
		}
		val = res[0]
	}
	found := val != nil
	if !found {
		switch ls.miss {
		case LookupMissSkip:
			return LookupResult{Record: r}, nil
		case LookupMissDrop, LookupMissDeadLetter:
			return LookupResult{}, nil
		case LookupMissFail:
			return LookupResult{}, fmt.Errorf("stage %q: %w: %s in %q", ls.id, ErrLookupMiss, ls.describeKey(r, v), ls.svcName)
		}
		val = ls.def
	}
	payload, err := setResult(nil, r.Payload, v, ls.result, val)
	if err != nil {
		return LookupResult{}, fmt.Errorf("lookup %q: result_field %q: %w", ls.id, ls.result, err)
	}
	c := r.Clone()
	c.SetPayload(payload)
	return LookupResult{Found: found, Value: val, Record: c}, nil
}

// planLookups holds the lookup services and stages RoutingEngine.Lookup
// built for one compiled pipeline.
type planLookups struct {
	mu     sync.Mutex
	svcs   map[string]connectors.LookupService
	stages map[string]*lookupStage
}

// lookupCaches maps compiled pipelines to their lookups without keeping the
// pipelines alive: when a plan is collected, a cleanup closes its services.
var lookupCaches struct {
	sync.Mutex
	m map[weak.Pointer[Plan]]*planLookups
}

func lookupsOf(pl *Plan) *planLookups {
	wp := weak.Make(pl)
	lookupCaches.Lock()
	defer lookupCaches.Unlock()
	if c, ok := lookupCaches.m[wp]; ok {
		return c
	}
	if lookupCaches.m == nil {
		lookupCaches.m = map[weak.Pointer[Plan]]*planLookups{}
	}
	c := &planLookups{svcs: map[string]connectors.LookupService{}, stages: map[string]*lookupStage{}}
	lookupCaches.m[wp] = c
	runtime.AddCleanup(pl, func(wp weak.Pointer[Plan]) {
		lookupCaches.Lock()
		c := lookupCaches.m[wp]
		delete(lookupCaches.m, wp)
		lookupCaches.Unlock()
		if c != nil {
			c.close()
		}
	}, wp)
	return c
}

// stage returns the compiled lookup stage n, building its service on first
// use.
func (c *planLookups) stage(p *Plan, n *node) (*lookupStage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ls, ok := c.stages[n.id]; ok {
		return ls, nil
	}
	name := lookupServiceName(n.stage)
	svc, ok := c.svcs[name]
	if !ok {
		sv := p.services[name]
		env := connectors.Env{BaseDir: p.p.baseDir(), BatchSize: p.settings.BatchSize, Name: name}
		var err error
		if svc, err = connectors.BuildLookup(sv.spec, sv.cfg, env); err != nil {
			return nil, fmt.Errorf("%s: stage %q: %w", n.at, n.id, err)
		}
		c.svcs[name] = svc
	}
	ls, err := newLookupStage(n, svc)
	if err != nil {
		return nil, fmt.Errorf("%s: stage %q: %w", n.at, n.id, err)
	}
	c.stages[n.id] = ls
	return ls, nil
}

func (c *planLookups) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, svc := range c.svcs {
		_ = svc.Close() // nothing to report to in a cleanup
	}
	clear(c.svcs)
	clear(c.stages)
}

// setResult stores val at result_field in rec's payload, appended to dst:
// the package's setResult, with the common case — a new member on a
// source's compact object nobody parsed — checked with the name prepared
// at build time (absentTop) instead of per record.
func (ls *lookupStage) setResult(dst []byte, rec *record.Record, val []byte) ([]byte, error) {
	if rec.Parsed() {
		v, _ := rec.JSON()
		return setResult(dst, rec.Payload, v, ls.result, val)
	}
	if absentTop(rec.Payload, ls.resultQuote) {
		return ls.result.AppendNew(dst, rec.Payload, false, val), nil
	}
	return setResult(dst, rec.Payload, nil, ls.result, val)
}

// setResult stores val at p in the JSON object doc, appended to dst,
// keeping every other byte of doc. A top-level member that is certainly
// absent (the parse says so, or — for a document with no escapes — its
// quoted name appears nowhere in it) is appended before the closing brace
// without scanning doc; otherwise the splicer finds its place.
func setResult(dst, doc []byte, parsed *fastjson.Value, p jsonsplice.Path, val []byte) ([]byte, error) {
	first := p.Segments()[0]
	if parsed != nil {
		if o, err := parsed.Object(); err == nil && o.Get(first) == nil {
			return p.AppendNew(dst, doc, o.Len() == 0, val), nil
		}
	} else if isObject(doc) && !emptyObject(doc) && absentMember(doc, first) {
		return p.AppendNew(dst, doc, false, val), nil
	}
	return p.AppendSet(dst, doc, val)
}

// absentMember reports whether the valid JSON object doc certainly has no
// top-level member name: doc holds no escape (so every name is literal)
// and name, quoted, occurs nowhere in it. It answers false when unsure.
func absentMember(doc []byte, name string) bool {
	if strings.ContainsAny(name, "\"\\") || bytes.IndexByte(doc, '\\') >= 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 {
			return false
		}
	}
	var q [64]byte
	quoted := append(append(append(q[:0], '"'), name...), '"')
	return !bytes.Contains(doc, quoted)
}

// isObject reports whether doc starts with '{' and ends with '}' (white
// space aside): a cheap check before the fast path, which trusts that doc
// is valid JSON.
func isObject(doc []byte) bool {
	t := bytes.TrimSpace(doc)
	return len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}'
}

// emptyObject reports whether the JSON object doc has no members.
func emptyObject(doc []byte) bool {
	i := bytes.IndexByte(doc, '{')
	for i++; i > 0 && i < len(doc); i++ {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '}':
			return true
		}
		return false
	}
	return false
}
