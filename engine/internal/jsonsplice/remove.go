package jsonsplice

// AppendRemove appends to dst the JSON object doc without the member at
// path p, and reports whether there was one to remove.
//
//   - Every member with the last segment's name is removed from its
//     object (a parser reading the first of a repeated name would
//     otherwise see the next one); the objects on the way are followed
//     through the first member of each name, as AppendSet does.
//   - A member on the way that is missing or holds something other than
//     an object: there is nothing to remove; doc is appended as it is.
//   - doc that is not an object is a *NotObjectError; doc that is not JSON
//     where it is read, a *SyntaxError. On an error dst is returned
//     unchanged.
//
// Every byte of doc outside the removed members and the separators before
// them is kept as it is; dst grows by at most len(doc).
func (p Path) AppendRemove(dst, doc []byte) ([]byte, bool, error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return dst, false, &NotObjectError{}
	}
	last := len(p.segs) - 1
	for depth := 0; depth < last; depth++ {
		vs, _, _, _, err := member(doc, i+1, p.segs[depth], p.keys[depth])
		if err != nil {
			return dst, false, err
		}
		if vs < 0 || doc[vs] != '{' {
			return append(dst, doc...), false, nil
		}
		i = vs
	}
	return removeMembers(dst, doc, i, p.segs[last])
}

// removeMembers writes doc without the members called name of the object
// whose '{' is at doc[open]. A kept member is written with the separator
// before it (white space, one comma, white space) as it was, except that
// the first kept member gets the white space after the '{' instead.
func removeMembers(dst, doc []byte, open int, name string) ([]byte, bool, error) {
	n := len(dst)
	dst = append(dst, doc[:open+1]...)
	var (
		removed, kept bool
		firstKey      = -1       // where the object's first member starts
		prevEnd       = open + 1 // after the previous member's value
	)
	for i := open + 1; ; {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return dst[:n], false, syntaxError(i, "unterminated object")
		}
		switch doc[i] {
		case '}':
			return append(dst, doc[prevEnd:]...), removed, nil
		case ',':
			i++
			continue
		case '"':
		default:
			return dst[:n], false, syntaxError(i, "unexpected %q at offset %d", doc[i], i)
		}
		ks := i
		if firstKey < 0 {
			firstKey = ks
		}
		end, escaped, err := scanString(doc, i)
		if err != nil {
			return dst[:n], false, err
		}
		match := keyIs(doc[ks:end], escaped, name)
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return dst[:n], false, syntaxError(i, "expected ':' at offset %d", i)
		}
		if i, err = skipValue(doc, skipSpace(doc, i+1)); err != nil {
			return dst[:n], false, err
		}
		switch {
		case match:
			removed = true
		case !kept:
			dst = append(dst, doc[open+1:firstKey]...)
			dst = append(dst, doc[ks:i]...)
			kept = true
		default:
			dst = append(dst, doc[prevEnd:i]...)
		}
		prevEnd = i
	}
}
