//! Frame encoding and decoding, byte for byte as abi/ABI.md section 6
//! specifies. Pure code: no host calls, so it is unit-tested natively.

use std::fmt;

use crate::Record;

/// ASCII `CVYB`: input and output batch frames.
pub const BATCH_MAGIC: &[u8; 4] = b"CVYB";
/// ASCII `CVYC`: the config frame.
pub const CONFIG_MAGIC: &[u8; 4] = b"CVYC";
/// Batch header size in bytes.
pub const BATCH_HEADER_SIZE: usize = 16;
/// Config header size in bytes.
pub const CONFIG_HEADER_SIZE: usize = 12;
/// Frame kind of an input batch.
pub const KIND_INPUT: u8 = 1;
/// Frame kind of an output batch.
pub const KIND_OUTPUT: u8 = 2;
/// Output entry kinds (section 6.5).
pub const ENTRY_RECORD: u8 = 0;
/// An explicit drop.
pub const ENTRY_DROP: u8 = 1;
/// A per-record error.
pub const ENTRY_ERROR: u8 = 2;
/// Record flag bit 0: the record has an event time.
pub const RECORD_FLAG_EVENT_TIME: u8 = 1;
/// The smallest encoded record: flags, event time and three u32 lengths.
pub const MIN_RECORD_SIZE: usize = 21;

/// Why a frame was rejected: the frame, the byte offset and the reason,
/// like the Go reference codec's `*abi.FrameError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// "input batch", "config", ...
    pub frame: &'static str,
    /// Byte offset of the offending field.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} frame: offset {}: {}", self.frame, self.offset, self.reason)
    }
}

impl std::error::Error for FrameError {}

/// A bounds-checked little-endian reader over one frame.
pub(crate) struct Reader<'a> {
    src: &'a [u8],
    pub(crate) off: usize,
    frame: &'static str,
}

type R<T> = Result<T, FrameError>;

impl<'a> Reader<'a> {
    pub(crate) fn new(src: &'a [u8], frame: &'static str) -> Self {
        Reader { src, off: 0, frame }
    }

    pub(crate) fn fail<T>(&self, offset: usize, reason: String) -> R<T> {
        Err(FrameError { frame: self.frame, offset, reason })
    }

    pub(crate) fn remaining(&self) -> usize {
        self.src.len() - self.off
    }

    fn take(&mut self, n: usize, what: &str) -> R<&'a [u8]> {
        if self.remaining() < n {
            return self.fail(self.off, format!("truncated {}", what));
        }
        let b = &self.src[self.off..self.off + n];
        self.off += n;
        Ok(b)
    }

    pub(crate) fn u8(&mut self, what: &str) -> R<u8> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> R<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: &str) -> R<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, what: &str) -> R<u64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A u32 length and that many bytes, aliasing the frame.
    pub(crate) fn bytes(&mut self, what: &str) -> R<&'a [u8]> {
        let start = self.off;
        if self.remaining() < 4 {
            return self.fail(start, format!("truncated {} length", what));
        }
        let n = self.u32(what)? as usize;
        if n > self.remaining() {
            return self
                .fail(start, format!("{} length {} past end of frame ({} bytes left)", what, n, self.remaining()));
        }
        let b = &self.src[self.off..self.off + n];
        self.off += n;
        Ok(b)
    }

    /// A u32 element count that must fit in the rest of the frame given the
    /// smallest element size, so a hostile count never drives an allocation.
    pub(crate) fn count(&mut self, what: &str, min_size: usize) -> R<usize> {
        let start = self.off;
        let n = self.u32(what)? as u64;
        if n * min_size as u64 > self.remaining() as u64 {
            return self
                .fail(start, format!("{} {} exceeds what {} remaining bytes can hold", what, n, self.remaining()));
        }
        Ok(n as usize)
    }

    /// Reads a batch header of the given kind; returns the count.
    pub(crate) fn batch_header(&mut self, kind: u8, min_entry: usize) -> R<usize> {
        if self.src.len() < BATCH_HEADER_SIZE {
            return self.fail(
                self.src.len(),
                format!("truncated header: {} bytes, need {}", self.src.len(), BATCH_HEADER_SIZE),
            );
        }
        if &self.src[..4] != BATCH_MAGIC {
            return self.fail(0, format!("bad magic {:?}, want \"CVYB\"", String::from_utf8_lossy(&self.src[..4])));
        }
        self.off = 4;
        let major = self.u16("major")?;
        let minor = self.u16("minor")?;
        if major != crate::ABI_MAJOR {
            return self.fail(4, format!("unsupported version {}.{}, want major {}", major, minor, crate::ABI_MAJOR));
        }
        let k = self.u8("kind")?;
        if k != kind {
            return self.fail(8, format!("frame kind {}, want {}", k, kind));
        }
        let flags = self.u8("flags")?;
        if flags != 0 {
            return self.fail(9, format!("unknown header flags {:#x}", flags));
        }
        let reserved = self.u16("reserved")?;
        if reserved != 0 {
            return self.fail(10, format!("reserved field is {:#x}, want 0", reserved));
        }
        self.count(if kind == KIND_INPUT { "record count" } else { "entry count" }, min_entry)
    }

    /// Reads one record (section 6.3); its metadata is appended to `md` and
    /// the range returned.
    pub(crate) fn record(&mut self, md: &mut Vec<(&'a [u8], &'a [u8])>) -> R<RawRecord<'a>> {
        let start = self.off;
        let flags = self.u8("record flags")?;
        let ts = self.u64("event time")? as i64;
        if flags & !RECORD_FLAG_EVENT_TIME != 0 {
            return self.fail(start, format!("unknown record flags {:#x}", flags));
        }
        let has = flags & RECORD_FLAG_EVENT_TIME != 0;
        if !has && ts != 0 {
            return self.fail(start + 1, format!("event time {} set without the event-time flag", ts));
        }
        let key = self.bytes("key")?;
        let payload = self.bytes("payload")?;
        let n = self.count("metadata count", 8)?;
        let first = md.len();
        for _ in 0..n {
            let k = self.bytes("metadata key")?;
            let v = self.bytes("metadata value")?;
            md.push((k, v));
        }
        Ok(RawRecord { event_time: if has { Some(ts) } else { None }, key, payload, md: first..md.len() })
    }

    pub(crate) fn end(&self) -> R<()> {
        if self.off != self.src.len() {
            return self.fail(self.off, format!("{} trailing bytes", self.src.len() - self.off));
        }
        Ok(())
    }
}

/// A decoded record whose metadata lives in a shared vector.
pub(crate) struct RawRecord<'a> {
    pub(crate) event_time: Option<i64>,
    pub(crate) key: &'a [u8],
    pub(crate) payload: &'a [u8],
    pub(crate) md: std::ops::Range<usize>,
}

/// Decodes an input batch frame (kind 1). The records' metadata is stored
/// in `md`, which the caller turns into [`Record`]s with [`records`].
pub(crate) fn decode_input<'a>(
    src: &'a [u8],
    md: &mut Vec<(&'a [u8], &'a [u8])>,
) -> Result<Vec<RawRecord<'a>>, FrameError> {
    let mut r = Reader::new(src, "input batch");
    let n = r.batch_header(KIND_INPUT, MIN_RECORD_SIZE)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.record(md)?);
    }
    r.end()?;
    Ok(out)
}

/// Builds the borrowed records of a decoded batch.
pub(crate) fn records<'b, 'a: 'b>(raw: &[RawRecord<'a>], md: &'b [(&'a [u8], &'a [u8])]) -> Vec<Record<'b>> {
    raw.iter()
        .map(|r| Record { key: r.key, payload: r.payload, metadata: &md[r.md.clone()], event_time: r.event_time })
        .collect()
}

/// Decodes a config frame (section 6.1): keys unique and strictly ascending.
pub fn decode_config(src: &[u8]) -> Result<Vec<(String, String)>, FrameError> {
    let mut r = Reader::new(src, "config");
    if src.len() < CONFIG_HEADER_SIZE {
        return r.fail(src.len(), format!("truncated header: {} bytes, need {}", src.len(), CONFIG_HEADER_SIZE));
    }
    if &src[..4] != CONFIG_MAGIC {
        return r.fail(0, format!("bad magic {:?}, want \"CVYC\"", String::from_utf8_lossy(&src[..4])));
    }
    r.off = 4;
    let major = r.u16("major")?;
    let minor = r.u16("minor")?;
    if major != crate::ABI_MAJOR {
        return r.fail(4, format!("unsupported version {}.{}, want major {}", major, minor, crate::ABI_MAJOR));
    }
    let n = r.count("entry count", 8)?;
    let mut out: Vec<(String, String)> = Vec::with_capacity(n);
    let mut prev: &[u8] = &[];
    for i in 0..n {
        let start = r.off;
        let k = r.bytes("key")?;
        let v = r.bytes("value")?;
        if i > 0 && prev >= k {
            return r.fail(
                start,
                format!(
                    "key {:?} not after {:?}: keys must be unique and sorted",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(prev)
                ),
            );
        }
        prev = k;
        out.push((String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()));
    }
    r.end()?;
    Ok(out)
}

/// Appends a config frame for the given entries, sorted by key.
pub fn append_config(dst: &mut Vec<u8>, entries: &[(&str, &str)]) {
    let mut e: Vec<&(&str, &str)> = entries.iter().collect();
    e.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    dst.extend_from_slice(CONFIG_MAGIC);
    dst.extend_from_slice(&crate::ABI_MAJOR.to_le_bytes());
    dst.extend_from_slice(&crate::ABI_MINOR.to_le_bytes());
    put_u32(dst, e.len());
    for (k, v) in e {
        put_bytes(dst, k.as_bytes());
        put_bytes(dst, v.as_bytes());
    }
}

pub(crate) fn put_u32(dst: &mut Vec<u8>, n: usize) {
    assert!(n <= u32::MAX as usize, "conveyor: length {} does not fit in a u32", n);
    dst.extend_from_slice(&(n as u32).to_le_bytes());
}

pub(crate) fn put_bytes(dst: &mut Vec<u8>, b: &[u8]) {
    put_u32(dst, b.len());
    dst.extend_from_slice(b);
}

/// Appends a batch header with count 0; [`set_count`] patches it.
pub(crate) fn put_header(dst: &mut Vec<u8>, kind: u8) {
    dst.extend_from_slice(BATCH_MAGIC);
    dst.extend_from_slice(&crate::ABI_MAJOR.to_le_bytes());
    dst.extend_from_slice(&crate::ABI_MINOR.to_le_bytes());
    dst.push(kind);
    dst.push(0);
    dst.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
}

pub(crate) fn set_count(dst: &mut [u8], count: u32) {
    dst[12..16].copy_from_slice(&count.to_le_bytes());
}

/// Appends one record (section 6.3).
pub fn put_record(dst: &mut Vec<u8>, r: &Record<'_>) {
    match r.event_time {
        Some(t) => {
            dst.push(RECORD_FLAG_EVENT_TIME);
            dst.extend_from_slice(&t.to_le_bytes());
        }
        None => {
            dst.push(0);
            dst.extend_from_slice(&0i64.to_le_bytes());
        }
    }
    put_bytes(dst, r.key);
    put_bytes(dst, r.payload);
    put_u32(dst, r.metadata.len());
    for (k, v) in r.metadata {
        put_bytes(dst, k);
        put_bytes(dst, v);
    }
}

/// Appends an input batch frame (kind 1), as the host writes it. For tests.
pub fn append_input_batch(dst: &mut Vec<u8>, recs: &[Record<'_>]) {
    let start = dst.len();
    put_header(dst, KIND_INPUT);
    for r in recs {
        put_record(dst, r);
    }
    set_count(&mut dst[start..], recs.len() as u32);
}

/// One decoded output entry (section 6.5), owned. For tests and tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Kind 0: an output record derived from input `input`.
    Record {
        /// The input index.
        input: u32,
        /// The key.
        key: Vec<u8>,
        /// The payload.
        payload: Vec<u8>,
        /// The metadata, in order.
        metadata: Vec<(Vec<u8>, Vec<u8>)>,
        /// Unix nanoseconds, if any.
        event_time: Option<i64>,
    },
    /// Kind 1: an explicit drop.
    Drop {
        /// The input index.
        input: u32,
    },
    /// Kind 2: a per-record error.
    Error {
        /// The input index.
        input: u32,
        /// The message.
        message: String,
    },
}

/// Decodes an output batch frame (kind 2) for a batch of `inputs` records,
/// strictly: unknown kinds, out-of-range input indexes and trailing bytes are
/// errors.
pub fn decode_output(src: &[u8], inputs: usize) -> Result<Vec<Entry>, FrameError> {
    let mut r = Reader::new(src, "output batch");
    let n = r.batch_header(KIND_OUTPUT, 5)?;
    let mut out = Vec::with_capacity(n);
    let mut md = Vec::new();
    for _ in 0..n {
        let start = r.off;
        let kind = r.u8("output kind")?;
        let input = r.u32("input index")?;
        if input as usize >= inputs {
            return r.fail(start + 1, format!("input index {} out of range for {} inputs", input, inputs));
        }
        match kind {
            ENTRY_RECORD => {
                md.clear();
                let rec = r.record(&mut md)?;
                out.push(Entry::Record {
                    input,
                    key: rec.key.to_vec(),
                    payload: rec.payload.to_vec(),
                    metadata: md.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
                    event_time: rec.event_time,
                });
            }
            ENTRY_DROP => out.push(Entry::Drop { input }),
            ENTRY_ERROR => {
                let m = r.bytes("error message")?;
                out.push(Entry::Error { input, message: String::from_utf8_lossy(m).into_owned() });
            }
            k => return r.fail(start, format!("unknown output kind {}", k)),
        }
    }
    r.end()?;
    Ok(out)
}

/// Frame kind of a lookup request (ABI 1.1, section 6.7).
pub const KIND_LOOKUP_REQUEST: u8 = 3;
/// Frame kind of a lookup result (ABI 1.1, section 6.8).
pub const KIND_LOOKUP_RESULT: u8 = 4;
/// Lookup result entry kind: a miss.
pub const LOOKUP_MISS: u8 = 0;
/// Lookup result entry kind: a hit with a row.
pub const LOOKUP_HIT: u8 = 1;

/// Decodes a lookup request frame (kind 3): the keys, aliasing `src`.
pub fn decode_lookup_request(src: &[u8]) -> Result<Vec<&[u8]>, FrameError> {
    let mut r = Reader::new(src, "lookup request");
    let n = r.batch_header(KIND_LOOKUP_REQUEST, 4)?;
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        keys.push(r.bytes("key")?);
    }
    r.end()?;
    Ok(keys)
}

/// Appends a lookup request frame, as the host writes it. For tests.
pub fn append_lookup_request(dst: &mut Vec<u8>, keys: &[&[u8]]) {
    let start = dst.len();
    put_header(dst, KIND_LOOKUP_REQUEST);
    for k in keys {
        put_bytes(dst, k);
    }
    set_count(&mut dst[start..], keys.len() as u32);
}

/// Decodes a lookup result frame (kind 4) for `keys` keys: `None` for a
/// miss, the row for a hit. For tests and tools.
pub fn decode_lookup_result(src: &[u8], keys: usize) -> Result<Vec<Option<Vec<u8>>>, FrameError> {
    let mut r = Reader::new(src, "lookup result");
    let n = r.batch_header(KIND_LOOKUP_RESULT, 1)?;
    if n != keys {
        return r.fail(12, format!("result count {} for {} keys", n, keys));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = r.off;
        match r.u8("result kind")? {
            LOOKUP_MISS => out.push(None),
            LOOKUP_HIT => out.push(Some(r.bytes("row")?.to_vec())),
            k => return r.fail(start, format!("unknown lookup result kind {}", k)),
        }
    }
    r.end()?;
    Ok(out)
}
