package abi

import "slices"

// LookupResult answers one key of a lookup request (ABI.md section 6.8):
// Found reports a hit, whose Row is a JSON object; a miss has neither.
type LookupResult struct {
	Found bool
	Row   []byte
}

// Lookup result entry kinds.
const (
	lookupMiss = 0
	lookupHit  = 1
)

// LookupRequestSize returns the encoded size of a lookup request for keys.
func LookupRequestSize(keys [][]byte) int {
	n := BatchHeaderSize
	for _, k := range keys {
		n += 4 + len(k)
	}
	return n
}

// AppendLookupRequest appends the lookup request frame for keys to dst.
func AppendLookupRequest(dst []byte, keys [][]byte) []byte {
	dst = appendHeader(dst, FrameLookupRequest, len(keys))
	for _, k := range keys {
		dst = appendBytes(dst, k)
	}
	return dst
}

// DecodeLookupRequest decodes a lookup request frame, appending the keys
// to dst. Keys alias src; an empty key is nil. On error dst is returned
// unchanged with a wrapped *FrameError.
func DecodeLookupRequest(src []byte, dst [][]byte) ([][]byte, error) {
	d := decoder{src: src, frame: "lookup request"}
	n := d.header(FrameLookupRequest)
	base := len(dst)
	dst = slices.Grow(dst, n)
	for i := 0; i < n && d.err == nil; i++ {
		dst = append(dst, d.bytes("key"))
	}
	d.end()
	if d.err != nil {
		clear(dst[base:])
		return dst[:base], &wrapError{prefix: "decode lookup request", err: d.err}
	}
	return dst, nil
}

// LookupResultSize returns the encoded size of a lookup result frame.
func LookupResultSize(res []LookupResult) int {
	n := BatchHeaderSize
	for i := range res {
		n++
		if res[i].Found {
			n += 4 + len(res[i].Row)
		}
	}
	return n
}

// AppendLookupResult appends the lookup result frame for res to dst: entry
// i answers key i. Rows are written as they are; the host checks that each
// is a JSON object.
func AppendLookupResult(dst []byte, res []LookupResult) []byte {
	dst = appendHeader(dst, FrameLookupResult, len(res))
	for i := range res {
		if !res[i].Found {
			dst = append(dst, lookupMiss)
			continue
		}
		dst = append(dst, lookupHit)
		dst = appendBytes(dst, res[i].Row)
	}
	return dst
}

// DecodeLookupResult decodes a lookup result frame that answers a request
// of keys keys, appending one LookupResult per key to dst. Rows alias src.
// The frame must hold exactly keys entries. On error dst is returned
// unchanged with a wrapped *FrameError.
func DecodeLookupResult(src []byte, keys int, dst []LookupResult) ([]LookupResult, error) {
	d := decoder{src: src, frame: "lookup result"}
	n := d.header(FrameLookupResult)
	if d.err == nil && n != keys {
		d.fail(12, "%d entries, want one per key (%d)", n, keys)
	}
	base := len(dst)
	if d.err == nil {
		dst = slices.Grow(dst, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		start := d.off
		switch k := d.u8("entry kind"); {
		case d.err != nil:
		case k == lookupMiss:
			dst = append(dst, LookupResult{})
		case k == lookupHit:
			row := d.bytes("row")
			if row == nil && d.err == nil {
				row = []byte{} // a hit with an empty row; the host rejects it as not an object
			}
			dst = append(dst, LookupResult{Found: true, Row: row})
		default:
			d.fail(start, "unknown lookup entry kind %d", k)
		}
	}
	d.end()
	if d.err != nil {
		clear(dst[base:])
		return dst[:base], &wrapError{prefix: "decode lookup result", err: d.err}
	}
	return dst, nil
}
