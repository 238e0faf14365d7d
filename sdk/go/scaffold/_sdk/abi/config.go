package abi

import (
	"slices"
	"strings"
)

// AppendConfig appends the config frame for kv to dst with keys in
// ascending byte order, so equal maps always encode to equal bytes.
func AppendConfig(dst []byte, kv map[string]string) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, ConfigMagic...)
	dst = le.AppendUint16(dst, Major)
	dst = le.AppendUint16(dst, Minor)
	dst = le.AppendUint32(dst, uint32(len(keys)))
	for _, k := range keys {
		dst = le.AppendUint32(dst, uint32(len(k)))
		dst = append(dst, k...)
		v := kv[k]
		dst = le.AppendUint32(dst, uint32(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// DecodeConfig decodes a config frame. Keys must be unique and in strictly
// ascending byte order (as AppendConfig writes them). The returned strings
// are copies and do not alias src.
func DecodeConfig(src []byte) (map[string]string, error) {
	d := decoder{src: src, frame: "config"}
	if len(src) < ConfigHeaderSize {
		d.fail(len(src), "truncated header: %d bytes, need %d", len(src), ConfigHeaderSize)
		return nil, &wrapError{prefix: "decode config", err: d.err}
	}
	if string(src[:4]) != ConfigMagic {
		d.fail(0, "bad magic %q, want %q", src[:4], ConfigMagic)
		return nil, &wrapError{prefix: "decode config", err: d.err}
	}
	d.off = 4
	major := d.u16("major")
	minor := d.u16("minor")
	if major != Major {
		d.fail(4, "unsupported version %d.%d, want major %d", major, minor, Major)
		return nil, &wrapError{prefix: "decode config", err: d.err}
	}
	n := d.count("entry count", 8)
	m := make(map[string]string, n)
	var prev []byte
	for i := 0; i < n && d.err == nil; i++ {
		start := d.off
		k := d.bytes("key")
		v := d.bytes("value")
		if d.err != nil {
			break
		}
		if i > 0 && strings.Compare(string(prev), string(k)) >= 0 {
			d.fail(start, "key %q not after %q: keys must be unique and sorted", k, prev)
			break
		}
		prev = k
		m[string(k)] = string(v)
	}
	d.end()
	if d.err != nil {
		return nil, &wrapError{prefix: "decode config", err: d.err}
	}
	return m, nil
}
