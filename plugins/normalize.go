package plugins

import (
	"bytes"
	"strconv"

	"github.com/conveyor-etl/conveyor-wasm/abi"
)

// pageSize is the size of a WebAssembly memory page.
const pageSize = 64 << 10

// pagesText renders a page count with its size: "16 pages (1 MiB)",
// "17 pages (1088 KiB)".
func pagesText(pages uint32) string {
	kib := uint64(pages) * 64
	size := strconv.FormatUint(kib, 10) + " KiB"
	if kib%1024 == 0 {
		size = strconv.FormatUint(kib/1024, 10) + " MiB"
	}
	unit := " pages ("
	if pages == 1 {
		unit = " page ("
	}
	return strconv.FormatUint(uint64(pages), 10) + unit + size + ")"
}

// normalize applies the rules of ABI.md section 6.5 to the entries of one
// output batch for n inputs, in place, and returns how many entries remain:
// an input with an error entry keeps only its first error entry; an input
// with record entries keeps those and loses its drop entries; an input with
// only drop entries keeps one. Surviving entries keep their order. It also
// makes metadata keys unique within each output record (6.3).
func normalize(outs []abi.Output, n int) int {
	mixed := false
	for i := range outs {
		o := &outs[i]
		if o.Kind != abi.KindRecord {
			mixed = true
		} else if len(o.Record.Metadata) > 1 {
			o.Record.Metadata = uniqueMetadata(o.Record.Metadata)
		}
	}
	if !mixed {
		return len(outs)
	}
	const (
		hasRecord = 1 << iota
		hasError
		keptError
		keptDrop
	)
	state := make([]uint8, n)
	for i := range outs {
		switch outs[i].Kind {
		case abi.KindRecord:
			state[outs[i].Input] |= hasRecord
		case abi.KindError:
			state[outs[i].Input] |= hasError
		}
	}
	j := 0
	for i := range outs {
		o := &outs[i]
		s := &state[o.Input]
		keep := false
		switch o.Kind {
		case abi.KindRecord:
			keep = *s&hasError == 0
		case abi.KindError:
			keep = *s&keptError == 0
			*s |= keptError
		case abi.KindDrop:
			keep = *s&(hasRecord|hasError|keptDrop) == 0
			*s |= keptDrop
		}
		if keep {
			if i != j {
				outs[j] = *o
			}
			j++
		}
	}
	clear(outs[j:])
	return j
}

// uniqueMetadata keeps one entry per key, at the position of its first
// occurrence with the value of its last, in place.
func uniqueMetadata(md []abi.KV) []abi.KV {
	dup := false
	for i := 1; i < len(md) && !dup; i++ {
		for j := 0; j < i; j++ {
			if bytes.Equal(md[i].Key, md[j].Key) {
				dup = true
				break
			}
		}
	}
	if !dup {
		return md
	}
	out := md[:0]
next:
	for _, kv := range md {
		for k := range out {
			if bytes.Equal(out[k].Key, kv.Key) {
				out[k].Value = kv.Value
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// isJSONObject reports whether b, without surrounding JSON white space, is
// one syntactically valid JSON object.
func isJSONObject(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) >= 2 && t[0] == '{' && jsonValid(t)
}
