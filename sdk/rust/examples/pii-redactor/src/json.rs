//! A small JSON tree that parses, edits and prints exactly like
//! github.com/valyala/fastjson v1.6 (what the Go pii-redactor uses), so the
//! Rust and Go redactors produce the same bytes: numbers and strings keep
//! their source text, white space is dropped when printing, an object's keys
//! are printed as written unless a lookup had to unescape them, and new
//! strings are quoted as Go's strconv.Quote does (approximated for
//! non-printable non-ASCII characters, see `quote`).

use std::borrow::Cow;

/// fastjson.MaxDepth.
const MAX_DEPTH: usize = 300;

pub type Id = usize;

/// A parse step's result: the node and the rest of the input, or the error
/// text and the input where it happened.
type Parsed<'a> = Result<(Id, &'a [u8]), (String, &'a [u8])>;

enum Node<'a> {
    Object { kvs: Vec<(Cow<'a, [u8]>, Id)>, keys_unescaped: bool },
    Array(Vec<Id>),
    RawString(&'a [u8]),
    Str(Vec<u8>),
    Number(&'a [u8]),
    True,
    False,
    Null,
}

/// A parsed document: nodes in an arena, the root first.
pub struct Doc<'a> {
    nodes: Vec<Node<'a>>,
}

fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\n' || c == b'\t' || c == b'\r'
}

fn skip_ws(s: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < s.len() && is_ws(s[i]) {
        i += 1;
    }
    &s[i..]
}

/// Go's %q of fastjson's startEndString(s): the first and last 40 bytes of
/// a long string.
fn quote_tail(s: &[u8]) -> String {
    if s.len() <= 80 {
        return go_quote(s);
    }
    go_quote(&[&s[..40], b"...", &s[s.len() - 40..]].concat())
}

/// Go's %q of s.
pub fn go_quote(s: &[u8]) -> String {
    let mut q = Vec::new();
    quote(&mut q, s);
    String::from_utf8_lossy(&q).into_owned()
}

impl<'a> Doc<'a> {
    /// Parses `s`; the error text follows fastjson's.
    pub fn parse(s: &'a [u8]) -> Result<Doc<'a>, String> {
        let mut d = Doc { nodes: Vec::new() };
        let s = skip_ws(s);
        match d.value(s, 0) {
            Err((e, tail)) => Err(format!("cannot parse JSON: {}; unparsed tail: {}", e, quote_tail(tail))),
            Ok((_, tail)) => {
                let tail = skip_ws(tail);
                if !tail.is_empty() {
                    return Err(format!("unexpected tail: {}", quote_tail(tail)));
                }
                Ok(d)
            }
        }
    }

    fn push(&mut self, n: Node<'a>) -> Id {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn value(&mut self, s: &'a [u8], depth: usize) -> Parsed<'a> {
        if s.is_empty() {
            return Err(("cannot parse empty string".into(), s));
        }
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return Err((format!("too big depth for the nested JSON; it exceeds {}", MAX_DEPTH), s));
        }
        match s[0] {
            b'{' => self.object(&s[1..], depth).map_err(|(e, t)| (format!("cannot parse object: {}", e), t)),
            b'[' => self.array(&s[1..], depth).map_err(|(e, t)| (format!("cannot parse array: {}", e), t)),
            b'"' => match raw_string(&s[1..]) {
                Ok((ss, tail)) => Ok((self.push(Node::RawString(ss)), tail)),
                Err((e, t)) => Err((format!("cannot parse string: {}", e), t)),
            },
            b't' => {
                if s.len() < 4 || &s[..4] != b"true" {
                    return Err((format!("unexpected value found: {}", go_quote(s)), s));
                }
                Ok((self.push(Node::True), &s[4..]))
            }
            b'f' => {
                if s.len() < 5 || &s[..5] != b"false" {
                    return Err((format!("unexpected value found: {}", go_quote(s)), s));
                }
                Ok((self.push(Node::False), &s[5..]))
            }
            b'n' => {
                if s.len() < 4 || &s[..4] != b"null" {
                    if s.len() >= 3 && s[..3].eq_ignore_ascii_case(b"nan") {
                        return Ok((self.push(Node::Number(&s[..3])), &s[3..]));
                    }
                    return Err((format!("unexpected value found: {}", go_quote(s)), s));
                }
                Ok((self.push(Node::Null), &s[4..]))
            }
            _ => match raw_number(s) {
                Ok((ns, tail)) => Ok((self.push(Node::Number(ns)), tail)),
                Err((e, t)) => Err((format!("cannot parse number: {}", e), t)),
            },
        }
    }

    fn array(&mut self, s: &'a [u8], depth: usize) -> Parsed<'a> {
        let mut s = skip_ws(s);
        if s.is_empty() {
            return Err(("missing ']'".into(), s));
        }
        let a = self.push(Node::Array(Vec::new()));
        if s[0] == b']' {
            return Ok((a, &s[1..]));
        }
        let mut items = Vec::new();
        loop {
            s = skip_ws(s);
            let (v, tail) = self.value(s, depth).map_err(|(e, t)| (format!("cannot parse array value: {}", e), t))?;
            items.push(v);
            s = skip_ws(tail);
            if s.is_empty() {
                return Err(("unexpected end of array".into(), s));
            }
            if s[0] == b',' {
                s = &s[1..];
                continue;
            }
            if s[0] == b']' {
                self.nodes[a] = Node::Array(items);
                return Ok((a, &s[1..]));
            }
            return Err(("missing ',' after array value".into(), s));
        }
    }

    fn object(&mut self, s: &'a [u8], depth: usize) -> Parsed<'a> {
        let mut s = skip_ws(s);
        if s.is_empty() {
            return Err(("missing '}'".into(), s));
        }
        let o = self.push(Node::Object { kvs: Vec::new(), keys_unescaped: false });
        if s[0] == b'}' {
            return Ok((o, &s[1..]));
        }
        let mut kvs = Vec::new();
        loop {
            s = skip_ws(s);
            if s.is_empty() || s[0] != b'"' {
                return Err(("cannot find opening '\"\" for object key".into(), s));
            }
            let (k, tail) = raw_key(&s[1..]).map_err(|(e, t)| (format!("cannot parse object key: {}", e), t))?;
            s = skip_ws(tail);
            if s.is_empty() || s[0] != b':' {
                return Err(("missing ':' after object key".into(), s));
            }
            s = skip_ws(&s[1..]);
            let (v, tail) = self.value(s, depth).map_err(|(e, t)| (format!("cannot parse object value: {}", e), t))?;
            kvs.push((Cow::Borrowed(k), v));
            s = skip_ws(tail);
            if s.is_empty() {
                return Err(("unexpected end of object".into(), s));
            }
            if s[0] == b',' {
                s = &s[1..];
                continue;
            }
            if s[0] == b'}' {
                self.nodes[o] = Node::Object { kvs, keys_unescaped: false };
                return Ok((o, &s[1..]));
            }
            return Err(("missing ',' after object value".into(), s));
        }
    }

    /// fastjson's Object.Get, including its side effect: a key that is not
    /// found among the raw keys unescapes all keys of the object.
    fn object_get(&mut self, o: Id, key: &[u8]) -> Option<Id> {
        if let Node::Object { kvs, keys_unescaped } = &self.nodes[o] {
            if !*keys_unescaped && !key.contains(&b'\\') {
                if let Some((_, v)) = kvs.iter().find(|(k, _)| k.as_ref() == key) {
                    return Some(*v);
                }
            }
        }
        self.unescape_keys(o);
        match &self.nodes[o] {
            Node::Object { kvs, .. } => kvs.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| *v),
            _ => None,
        }
    }

    fn unescape_keys(&mut self, o: Id) {
        if let Node::Object { kvs, keys_unescaped } = &mut self.nodes[o] {
            if *keys_unescaped {
                return;
            }
            for (k, _) in kvs.iter_mut() {
                if k.contains(&b'\\') {
                    *k = Cow::Owned(unescape(k));
                }
            }
            *keys_unescaped = true;
        }
    }

    /// fastjson's Value.Get(keys...): object keys and decimal array indexes.
    pub fn get(&mut self, mut v: Id, keys: &[&str]) -> Option<Id> {
        for key in keys {
            match &self.nodes[v] {
                Node::Object { .. } => v = self.object_get(v, key.as_bytes())?,
                Node::Array(items) => {
                    let n = atoi(key)?;
                    if n < 0 || n as usize >= items.len() {
                        return None;
                    }
                    v = items[n as usize];
                }
                _ => return None,
            }
        }
        Some(v)
    }

    /// fastjson's Value.Set(key, a new string value).
    pub fn set_string(&mut self, v: Id, key: &str, value: &[u8]) {
        let new = self.push(Node::Str(value.to_vec()));
        match &self.nodes[v] {
            Node::Object { .. } => {
                self.unescape_keys(v);
                if let Node::Object { kvs, .. } = &mut self.nodes[v] {
                    match kvs.iter_mut().find(|(k, _)| k.as_ref() == key.as_bytes()) {
                        Some(kv) => kv.1 = new,
                        None => kvs.push((Cow::Owned(key.as_bytes().to_vec()), new)),
                    }
                }
            }
            Node::Array(_) => {
                let idx = match atoi(key) {
                    Some(i) if i >= 0 => i as usize,
                    _ => return,
                };
                if let Node::Array(items) = &mut self.nodes[v] {
                    while idx >= items.len() {
                        // fastjson appends its shared null value.
                        items.push(usize::MAX);
                    }
                    items[idx] = new;
                }
            }
            _ => {}
        }
    }

    /// fastjson's Value.MarshalTo for the root.
    pub fn marshal(&self, dst: &mut Vec<u8>) {
        self.marshal_node(0, dst)
    }

    fn marshal_node(&self, v: Id, dst: &mut Vec<u8>) {
        if v == usize::MAX {
            dst.extend_from_slice(b"null");
            return;
        }
        match &self.nodes[v] {
            Node::RawString(s) => {
                dst.push(b'"');
                dst.extend_from_slice(s);
                dst.push(b'"');
            }
            Node::Object { kvs, keys_unescaped } => {
                dst.push(b'{');
                for (i, (k, val)) in kvs.iter().enumerate() {
                    if *keys_unescaped {
                        escape_string(dst, k);
                    } else {
                        dst.push(b'"');
                        dst.extend_from_slice(k);
                        dst.push(b'"');
                    }
                    dst.push(b':');
                    self.marshal_node(*val, dst);
                    if i + 1 != kvs.len() {
                        dst.push(b',');
                    }
                }
                dst.push(b'}');
            }
            Node::Array(items) => {
                dst.push(b'[');
                for (i, it) in items.iter().enumerate() {
                    self.marshal_node(*it, dst);
                    if i + 1 != items.len() {
                        dst.push(b',');
                    }
                }
                dst.push(b']');
            }
            Node::Str(s) => escape_string(dst, s),
            Node::Number(s) => dst.extend_from_slice(s),
            Node::True => dst.extend_from_slice(b"true"),
            Node::False => dst.extend_from_slice(b"false"),
            Node::Null => dst.extend_from_slice(b"null"),
        }
    }
}

type Tail<'a> = Result<(&'a [u8], &'a [u8]), (&'static str, &'a [u8])>;

fn raw_key(s: &[u8]) -> Tail<'_> {
    for i in 0..s.len() {
        if s[i] == b'"' {
            return Ok((&s[..i], &s[i + 1..]));
        }
        if s[i] == b'\\' {
            return raw_string(s);
        }
    }
    Err(("missing closing '\"'", &s[s.len()..]))
}

fn index_byte(s: &[u8], c: u8) -> Option<usize> {
    s.iter().position(|&b| b == c)
}

/// fastjson's parseRawString: the string up to the first quote that is not
/// escaped by an odd number of backslashes; escapes are not checked.
fn raw_string(s: &[u8]) -> Tail<'_> {
    let ss = s;
    let mut s = s;
    let mut n = match index_byte(s, b'"') {
        Some(n) => n,
        None => return Err(("missing closing '\"'", &ss[ss.len()..])),
    };
    if n == 0 || s[n - 1] != b'\\' {
        return Ok((&s[..n], &s[n + 1..]));
    }
    loop {
        let mut i = n - 1;
        while i > 0 && s[i - 1] == b'\\' {
            i -= 1;
        }
        if (n - i) % 2 == 0 {
            let end = ss.len() - s.len() + n;
            return Ok((&ss[..end], &s[n + 1..]));
        }
        s = &s[n + 1..];
        n = match index_byte(s, b'"') {
            Some(n) => n,
            None => return Err(("missing closing '\"'", &ss[ss.len()..])),
        };
        if n == 0 || s[n - 1] != b'\\' {
            let end = ss.len() - s.len() + n;
            return Ok((&ss[..end], &s[n + 1..]));
        }
    }
}

/// fastjson's parseRawNumber: a run of `0-9 . - + e E`, or inf/nan.
#[allow(clippy::type_complexity)]
fn raw_number(s: &[u8]) -> Result<(&[u8], &[u8]), (String, &[u8])> {
    for i in 0..s.len() {
        let c = s[i];
        if c.is_ascii_digit() || c == b'.' || c == b'-' || c == b'e' || c == b'E' || c == b'+' {
            continue;
        }
        if i == 0 || i == 1 && (s[0] == b'-' || s[0] == b'+') {
            if s.len() - i >= 3 {
                let xs = &s[i..i + 3];
                if xs.eq_ignore_ascii_case(b"inf") || xs.eq_ignore_ascii_case(b"nan") {
                    return Ok((&s[..i + 3], &s[i + 3..]));
                }
            }
            return Err((format!("unexpected char: {}", go_quote(&s[..1])), s));
        }
        return Ok((&s[..i], &s[i..]));
    }
    Ok((s, &s[s.len()..]))
}

/// Go's strconv.Atoi (decimal, optional sign, 64-bit range).
fn atoi(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'+') => (false, &b[1..]),
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        n = if neg { n.checked_mul(10)?.checked_sub(d)? } else { n.checked_mul(10)?.checked_add(d)? };
    }
    Some(n)
}

fn hex4(s: &[u8]) -> Option<u32> {
    let mut x = 0u32;
    for &c in &s[..4] {
        x = x * 16 + (c as char).to_digit(16)?;
    }
    Some(x)
}

fn push_rune(b: &mut Vec<u8>, r: u32) {
    let c = char::from_u32(r).unwrap_or('\u{FFFD}');
    let mut tmp = [0u8; 4];
    b.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

/// fastjson's unescapeStringBestEffort.
fn unescape(s: &[u8]) -> Vec<u8> {
    let n = match index_byte(s, b'\\') {
        Some(n) => n,
        None => return s.to_vec(),
    };
    let mut b = s[..n].to_vec();
    let mut s = &s[n + 1..];
    while !s.is_empty() {
        let ch = s[0];
        s = &s[1..];
        match ch {
            b'"' => b.push(b'"'),
            b'\\' => b.push(b'\\'),
            b'/' => b.push(b'/'),
            b'b' => b.push(8),
            b'f' => b.push(12),
            b'n' => b.push(b'\n'),
            b'r' => b.push(b'\r'),
            b't' => b.push(b'\t'),
            b'u' => {
                let x = if s.len() >= 4 { hex4(s) } else { None };
                match x {
                    None => b.extend_from_slice(b"\\u"),
                    Some(x) => {
                        let xs = &s[..4];
                        s = &s[4..];
                        if !(0xD800..0xE000).contains(&x) {
                            push_rune(&mut b, x);
                        } else if s.len() < 6 || s[0] != b'\\' || s[1] != b'u' {
                            b.extend_from_slice(b"\\u");
                            b.extend_from_slice(xs);
                        } else {
                            match hex4(&s[2..6]) {
                                None => {
                                    b.extend_from_slice(b"\\u");
                                    b.extend_from_slice(xs);
                                }
                                Some(x1) => {
                                    let r = if (0xD800..0xDC00).contains(&x) && (0xDC00..0xE000).contains(&x1) {
                                        0x10000 + ((x - 0xD800) << 10 | (x1 - 0xDC00))
                                    } else {
                                        0xFFFD
                                    };
                                    push_rune(&mut b, r);
                                    s = &s[6..];
                                }
                            }
                        }
                    }
                }
            }
            _ => {
                b.push(b'\\');
                b.push(ch);
            }
        }
        match index_byte(s, b'\\') {
            None => {
                b.extend_from_slice(s);
                break;
            }
            Some(n) => {
                b.extend_from_slice(&s[..n]);
                s = &s[n + 1..];
            }
        }
    }
    b
}

/// fastjson's escapeString: as is unless the string holds `"`, `\` or a
/// control character, then Go's strconv.Quote.
fn escape_string(dst: &mut Vec<u8>, s: &[u8]) {
    if !s.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20) {
        dst.push(b'"');
        dst.extend_from_slice(s);
        dst.push(b'"');
        return;
    }
    quote(dst, s);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Go's strconv.AppendQuote. Go's unicode.IsPrint is approximated for
/// non-ASCII: C1 controls, non-ASCII spaces, common format characters,
/// private use and non-characters are escaped, everything else is printed.
fn quote(dst: &mut Vec<u8>, s: &[u8]) {
    dst.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            i += 1;
            match c {
                b'"' | b'\\' => {
                    dst.push(b'\\');
                    dst.push(c);
                }
                7 => dst.extend_from_slice(b"\\a"),
                8 => dst.extend_from_slice(b"\\b"),
                12 => dst.extend_from_slice(b"\\f"),
                b'\n' => dst.extend_from_slice(b"\\n"),
                b'\r' => dst.extend_from_slice(b"\\r"),
                b'\t' => dst.extend_from_slice(b"\\t"),
                11 => dst.extend_from_slice(b"\\v"),
                c if c < 0x20 || c == 0x7f => {
                    dst.extend_from_slice(b"\\x");
                    dst.push(HEX[(c >> 4) as usize]);
                    dst.push(HEX[(c & 15) as usize]);
                }
                c => dst.push(c),
            }
            continue;
        }
        let width = match c {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 0,
        };
        let ch = if width > 0 && i + width <= s.len() {
            std::str::from_utf8(&s[i..i + width]).ok().and_then(|t| t.chars().next())
        } else {
            None
        };
        match ch {
            None => {
                dst.extend_from_slice(b"\\x");
                dst.push(HEX[(c >> 4) as usize]);
                dst.push(HEX[(c & 15) as usize]);
                i += 1;
            }
            Some(ch) => {
                let r = ch as u32;
                if is_print(r) {
                    dst.extend_from_slice(&s[i..i + width]);
                } else if r < 0x10000 {
                    dst.extend_from_slice(b"\\u");
                    for sh in [12, 8, 4, 0] {
                        dst.push(HEX[((r >> sh) & 15) as usize]);
                    }
                } else {
                    dst.extend_from_slice(b"\\U");
                    for sh in [28, 24, 20, 16, 12, 8, 4, 0] {
                        dst.push(HEX[((r >> sh) & 15) as usize]);
                    }
                }
                i += width;
            }
        }
    }
    dst.push(b'"');
}

fn is_print(r: u32) -> bool {
    !matches!(r,
        0x80..=0xA0 | 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x1680 | 0x180E
        | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x206F | 0x3000 | 0xD800..=0xF8FF
        | 0xFEFF | 0xFFF9..=0xFFFB | 0xFFFE | 0xFFFF | 0xE0000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(src: &str, paths: &[&[&str]], repl: &str) -> Result<String, String> {
        let mut d = Doc::parse(src.as_bytes())?;
        let mut n = 0;
        for p in paths {
            let (last, parent) = p.split_last().unwrap();
            let parent = match d.get(0, parent) {
                Some(v) => v,
                None => continue,
            };
            if d.get(parent, &[last]).is_none() {
                continue;
            }
            d.set_string(parent, last, repl.as_bytes());
            n += 1;
        }
        if n == 0 {
            return Ok(src.to_string());
        }
        let mut out = Vec::new();
        d.marshal(&mut out);
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn fastjson_cases() {
        let r = |s: &str, p: &[&[&str]]| redact(s, p, "[REDACTED]");
        assert_eq!(r(r#"{ "a" : 1.50 , "b":"x\"y" }"#, &[&["a"]]).unwrap(), r#"{"a":"[REDACTED]","b":"x\"y"}"#);
        assert_eq!(
            r(r#"{"u":[{"e":1},{"e":2}]}"#, &[&["u", "+1", "e"]]).unwrap(),
            r#"{"u":[{"e":1},{"e":"[REDACTED]"}]}"#
        );
        assert_eq!(r(r#"{"\u0061":1,"a":2}"#, &[&["a"]]).unwrap(), r#"{"a":"[REDACTED]","a":2}"#);
        assert_eq!(r(r#"{"x\n":1,"a":2}"#, &[&["a"]]).unwrap(), "{\"x\\n\":1,\"a\":\"[REDACTED]\"}");
        assert_eq!(redact(r#"{"a":1}"#, &[&["a"]], "q\"\x01é").unwrap(), r#"{"a":"q\"\x01é"}"#);
        assert_eq!(r(" 42 ", &[&["a"]]).unwrap(), " 42 ");
        assert_eq!(r("[1, NaN, -inf]", &[&["0"]]).unwrap(), "[\"[REDACTED]\",NaN,-inf]");
        assert!(r("", &[&["a"]]).unwrap_err().starts_with("cannot parse JSON: cannot parse empty string"));
        assert!(r("{\"a\":1,}", &[&["a"]]).is_err());
        assert!(r("{} x", &[&["a"]]).unwrap_err().starts_with("unexpected tail"));
        let deep = "[".repeat(300) + &"]".repeat(300);
        assert!(r(&deep, &[&["a"]]).is_ok());
        let deeper = "[".repeat(301) + &"]".repeat(301);
        assert!(r(&deeper, &[&["a"]]).unwrap_err().contains("too big depth"));
    }
}
