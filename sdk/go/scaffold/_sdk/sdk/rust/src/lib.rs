//! The Rust guest SDK for conveyor-wasm plugins (ABI 1.1, `abi/ABI.md`).
//!
//! A plugin is a `cdylib` for `wasm32-wasi` with one type that implements
//! [`Plugin`] (construction from the config, optional close) and
//! [`Transform`], [`Lookup`] or both, registered with [`export!`]:
//!
//! ```ignore
//! use conveyor::{Config, Emitter, Error, Plugin, Record, Transform};
//!
//! struct Tagger { tag: String }
//!
//! impl Plugin for Tagger {
//!     fn new(config: &Config) -> Result<Self, Error> {
//!         Ok(Tagger { tag: config.require("tag")?.to_string() })
//!     }
//! }
//!
//! impl Transform for Tagger {
//!     fn process(&mut self, r: &Record, out: &mut Emitter) -> Result<(), Error> {
//!         if r.payload.is_empty() {
//!             return Err("empty payload".into()); // this record is dead-lettered
//!         }
//!         let mut md = r.metadata.to_vec();
//!         md.push((b"tag", self.tag.as_bytes()));
//!         out.emit(&Record { metadata: &md, ..*r }); // 0 emits drop, several split
//!         Ok(())
//!     }
//! }
//!
//! conveyor::export!(Tagger, transform);
//! ```
//!
//! The SDK has no dependencies and builds with Rust 1.63 (Debian's rustc):
//! see README.md for the exact `rustc` lines. Frames are encoded and decoded
//! strictly, byte for byte as ABI.md section 6 says; a frame from the host
//! that does not decode is a protocol violation with no record to blame, and
//! the SDK traps (the host reports the batch as failed).
//!
//! Natively (not `wasm32`), the host functions talk to a stand-in host so a
//! plugin can be unit-tested with `rustc --test`; see [`testing`].

#![warn(missing_docs)]

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod frame;
mod host;
#[doc(hidden)]
pub mod rt;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

/// The ABI major version this SDK implements.
pub const ABI_MAJOR: u16 = 1;
/// The ABI minor version this SDK implements (1.1 adds lookups).
pub const ABI_MINOR: u16 = 1;
/// `major << 16 | minor`, what `conveyor_abi_version` returns.
pub const ABI_VERSION: u32 = (ABI_MAJOR as u32) << 16 | ABI_MINOR as u32;

/// The error type of plugin code: any error, or a message.
///
/// `Err("bad input".into())`, `Err(format!("field {}", f).into())` and `?`
/// on any `std::error::Error` all work.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One metadata attribute: key and value bytes (UTF-8 in practice).
pub type Kv<'a> = (&'a [u8], &'a [u8]);

/// A record as a transform sees it and emits it.
///
/// Every field borrows: an input record borrows the SDK's input buffer (valid
/// during the call), an output record whatever the transform built. `Record`
/// is `Copy`, so a changed copy is one struct update away:
/// `Record { payload: &buf, ..*r }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Record<'a> {
    /// Identifies the record for partitioning.
    pub key: &'a [u8],
    /// The body, JSON in most pipelines but opaque to the ABI.
    pub payload: &'a [u8],
    /// Ordered attributes. Input records never repeat a key; if an output
    /// repeats one, the host keeps the first position and the last value.
    pub metadata: &'a [Kv<'a>],
    /// Event time in Unix nanoseconds, if the record has one.
    pub event_time: Option<i64>,
}

impl<'a> Record<'a> {
    /// A record with a key and a payload, no metadata and no event time.
    pub fn new(key: &'a [u8], payload: &'a [u8]) -> Self {
        Record { key, payload, metadata: &[], event_time: None }
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&'a [u8]> {
        self.metadata.iter().find(|(k, _)| *k == key.as_bytes()).map(|(_, v)| *v)
    }

    /// The key as UTF-8, if it is.
    pub fn key_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.key).ok()
    }

    /// The payload as UTF-8, if it is.
    pub fn payload_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.payload).ok()
    }

    /// The event time as a `SystemTime`.
    pub fn event_system_time(&self) -> Option<SystemTime> {
        self.event_time.map(nanos_to_system_time)
    }
}

fn nanos_to_system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// The plugin's configuration: the service's `config:` map from the
/// pipeline, passed to [`Plugin::new`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    entries: Vec<(String, String)>, // sorted by key, unique
}

impl Config {
    /// A config from key/value pairs (for tests); later duplicates win.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let mut entries: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            match entries.binary_search_by(|e| e.0.as_bytes().cmp(k.as_bytes())) {
                Ok(i) => entries[i].1 = v.to_string(),
                Err(i) => entries.insert(i, (k.to_string(), v.to_string())),
            }
        }
        Config { entries }
    }

    pub(crate) fn from_sorted(entries: Vec<(String, String)>) -> Self {
        Config { entries }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.binary_search_by(|e| e.0.as_bytes().cmp(key.as_bytes())).ok().map(|i| self.entries[i].1.as_str())
    }

    /// The value of `key`, or an error `config "key" is required`.
    pub fn require(&self, key: &str) -> Result<&str, Error> {
        self.get(key).ok_or_else(|| format!("config {:?} is required", key).into())
    }

    /// The value of `key` parsed with `FromStr`; `Ok(None)` if absent.
    pub fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, Error>
    where
        T::Err: fmt::Display,
    {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e| format!("config {:?}: {}", key, e).into()),
        }
    }

    /// All entries in ascending key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Construction and tear-down of one plugin instance.
///
/// The host creates several instances of a module (one per concurrent
/// batch) and may retire any of them between batches, so state in `Self`
/// is per instance and may be lost at any time.
pub trait Plugin: Sized {
    /// Builds the instance from its configuration, in `conveyor_init`. An
    /// error fails the plugin load with its text: use it for bad config.
    fn new(config: &Config) -> Result<Self, Error>;

    /// Called by `conveyor_close` when the host retires a healthy instance.
    fn close(&mut self) {}
}

/// A transform: records in, 0..n output records (or an error) per record.
pub trait Transform: Plugin {
    /// Transforms one record: call `out.emit` 0 times to drop it, once to
    /// map it, several times to split it. An error fails this record only:
    /// the host dead-letters it with the error text, and whatever was
    /// emitted for it is discarded.
    ///
    /// A panic is not an error: Wasm has no unwinding here, so a panic
    /// prints its message to stderr and traps, failing the whole batch (the
    /// host retries it once on a fresh instance). Return errors instead.
    fn process(&mut self, record: &Record<'_>, out: &mut Emitter<'_>) -> Result<(), Error>;

    /// Processes a whole batch. The default calls [`process`](Self::process)
    /// per record, in order, through [`Output::record`]. Override it to see
    /// the batch at once (for example to batch a computation) and write
    /// entries for any input in any order.
    fn process_batch(&mut self, records: &[Record<'_>], out: &mut Output<'_>) {
        for (i, r) in records.iter().enumerate() {
            out.record(i, |e| self.process(r, e));
        }
    }
}

/// A lookup (ABI 1.1): keys in, a row (a JSON object) or a miss per key.
pub trait Lookup: Plugin {
    /// Looks up one key. On a hit, write the row, a JSON object such as
    /// `{"tier":"gold"}`, into `row` (empty on entry) and return true;
    /// return false for a miss. Lookups have no per-key error: a key that
    /// cannot be answered is a bug, so panic (the batch fails).
    fn lookup(&mut self, key: &[u8], row: &mut Vec<u8>) -> bool;

    /// Looks up a batch of keys (they may repeat). The default calls
    /// [`lookup`](Self::lookup) per key; an override must answer every key
    /// once, in order, through `out`.
    fn lookup_batch(&mut self, keys: &[&[u8]], out: &mut LookupOutput<'_>) {
        let mut row = Vec::new();
        for k in keys {
            row.clear();
            if self.lookup(k, &mut row) {
                out.hit(&row);
            } else {
                out.miss();
            }
        }
    }
}

/// The output batch being written for one input batch: entries for any
/// input, in any order (ABI.md section 6.5).
pub struct Output<'o> {
    buf: &'o mut Vec<u8>,
    count: u32,
    inputs: usize,
}

impl<'o> Output<'o> {
    pub(crate) fn new(buf: &'o mut Vec<u8>, inputs: usize) -> Self {
        buf.clear();
        frame::put_header(buf, frame::KIND_OUTPUT);
        Output { buf, count: 0, inputs }
    }

    pub(crate) fn finish(self) -> &'o [u8] {
        frame::set_count(self.buf, self.count);
        self.buf
    }

    fn entry(&mut self, kind: u8, input: usize) {
        assert!(input < self.inputs, "conveyor: output for input {} of a batch of {}", input, self.inputs);
        self.buf.push(kind);
        self.buf.extend_from_slice(&(input as u32).to_le_bytes());
        self.count += 1;
    }

    /// Writes an output record derived from input `input`.
    pub fn emit(&mut self, input: usize, r: &Record<'_>) {
        self.entry(frame::ENTRY_RECORD, input);
        frame::put_record(self.buf, r);
    }

    /// Writes an explicit drop for input `input` (no entry at all drops it
    /// too; this says so).
    pub fn discard(&mut self, input: usize) {
        self.entry(frame::ENTRY_DROP, input);
    }

    /// Writes a per-record error for input `input`: the host dead-letters
    /// that input once, with the message of its first error entry, and
    /// ignores its other entries. An empty message is replaced by a
    /// placeholder so the operator sees something.
    pub fn error(&mut self, input: usize, message: &str) {
        let msg = if message.is_empty() { "transform failed with an empty error" } else { message };
        self.entry(frame::ENTRY_ERROR, input);
        frame::put_bytes(self.buf, msg.as_bytes());
    }

    /// Runs `f` with an [`Emitter`] for input `input`. If `f` fails, what it
    /// emitted is rolled back and one error entry with the error text is
    /// written instead.
    pub fn record<F>(&mut self, input: usize, f: F)
    where
        F: FnOnce(&mut Emitter<'_>) -> Result<(), Error>,
    {
        assert!(input < self.inputs, "conveyor: output for input {} of a batch of {}", input, self.inputs);
        let (len, count) = (self.buf.len(), self.count);
        let res = f(&mut Emitter { buf: &mut *self.buf, count: &mut self.count, input });
        if let Err(e) = res {
            self.buf.truncate(len);
            self.count = count;
            self.error(input, &e.to_string());
        }
    }

    /// The number of inputs in the batch.
    pub fn inputs(&self) -> usize {
        self.inputs
    }
}

/// Receives the records a transform produces for one input record. It
/// encodes each at once: the caller may reuse its buffers after `emit`
/// returns.
pub struct Emitter<'e> {
    buf: &'e mut Vec<u8>,
    count: &'e mut u32,
    input: usize,
}

impl<'e> Emitter<'e> {
    /// Emits one output record for the current input.
    pub fn emit(&mut self, r: &Record<'_>) {
        self.buf.push(frame::ENTRY_RECORD);
        self.buf.extend_from_slice(&(self.input as u32).to_le_bytes());
        frame::put_record(self.buf, r);
        *self.count += 1;
    }

    /// The index of the current input in its batch.
    pub fn input(&self) -> usize {
        self.input
    }
}

/// The lookup result being written, one answer per key in key order.
pub struct LookupOutput<'o> {
    buf: &'o mut Vec<u8>,
    answered: usize,
    keys: usize,
}

impl<'o> LookupOutput<'o> {
    pub(crate) fn new(buf: &'o mut Vec<u8>, keys: usize) -> Self {
        buf.clear();
        frame::put_header(buf, frame::KIND_LOOKUP_RESULT);
        LookupOutput { buf, answered: 0, keys }
    }

    pub(crate) fn finish(self) -> &'o [u8] {
        assert!(self.answered == self.keys, "conveyor: lookup answered {} of {} keys", self.answered, self.keys);
        frame::set_count(self.buf, self.answered as u32);
        self.buf
    }

    fn next(&mut self) {
        assert!(self.answered < self.keys, "conveyor: lookup answered more than {} keys", self.keys);
        self.answered += 1;
    }

    /// Answers the next key with a row, a JSON object.
    pub fn hit(&mut self, row: &[u8]) {
        self.next();
        self.buf.push(frame::LOOKUP_HIT);
        frame::put_bytes(self.buf, row);
    }

    /// Answers the next key with a miss.
    pub fn miss(&mut self) {
        self.next();
        self.buf.push(frame::LOOKUP_MISS);
    }
}

/// Log levels of `log_v1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// 0
    Debug = 0,
    /// 1
    Info = 1,
    /// 2
    Warn = 2,
    /// 3
    Error = 3,
}

/// Logs `msg` to the host's structured log, tagged with the plugin name.
/// The host cuts messages at 4096 bytes and rate-limits lines per plugin.
pub fn log(level: Level, msg: &str) {
    host::log(level as i32, msg.as_bytes());
}

/// Logs raw bytes (the host replaces invalid UTF-8 with U+FFFD).
pub fn log_bytes(level: Level, msg: &[u8]) {
    host::log(level as i32, msg);
}

/// `log!(Level::Info, "x = {}", x)`: formats and logs.
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)+) => { $crate::log($level, &::std::format!($($arg)+)) };
}
/// Logs at debug level with `format!` arguments.
#[macro_export]
macro_rules! debug { ($($arg:tt)+) => { $crate::log!($crate::Level::Debug, $($arg)+) }; }
/// Logs at info level with `format!` arguments.
#[macro_export]
macro_rules! info { ($($arg:tt)+) => { $crate::log!($crate::Level::Info, $($arg)+) }; }
/// Logs at warn level with `format!` arguments.
#[macro_export]
macro_rules! warn { ($($arg:tt)+) => { $crate::log!($crate::Level::Warn, $($arg)+) }; }
/// Logs at error level with `format!` arguments.
#[macro_export]
macro_rules! error { ($($arg:tt)+) => { $crate::log!($crate::Level::Error, $($arg)+) }; }

/// Adds `delta` (may be negative) to the plugin's counter `name`; the host
/// sums counters over instances and reports them with its run statistics.
pub fn counter(name: &str, delta: i64) {
    host::metric_add(name.as_bytes(), delta);
}

/// The host's wall clock in Unix nanoseconds (tests may pin it).
pub fn now_nanos() -> i64 {
    host::clock_now()
}

/// The host's wall clock; prefer it over `SystemTime::now`.
pub fn now() -> SystemTime {
    nanos_to_system_time(now_nanos())
}

/// Asks the host for config key `key` through `config_get_v1`, byte for
/// byte. [`Plugin::new`] gets the same map as a [`Config`]; this is for
/// code that has no `Config` at hand.
pub fn config_get(key: &str) -> Option<Vec<u8>> {
    host::config_get(key.as_bytes())
}

/// Generates the Wasm exports of ABI 1.1 for a plugin type:
///
/// - `conveyor::export!(T, transform)`: `T: Transform`, exports
///   `conveyor_process`;
/// - `conveyor::export!(T, lookup)`: `T: Lookup`, exports `conveyor_lookup`;
/// - `conveyor::export!(T, transform, lookup)`: both, one instance of `T`.
///
/// Always exported: `conveyor_abi_version`, `conveyor_alloc`,
/// `conveyor_init`, `conveyor_close` and `_initialize` (runs the linker's
/// constructors once; without it wasm-ld would wrap every export of a
/// `cdylib` as a WASI command). Use it once per module, at the crate root.
#[macro_export]
macro_rules! export {
    ($t:ty, transform) => {
        $crate::__export_common!($t);
        $crate::__export_process!($t);
    };
    ($t:ty, lookup) => {
        $crate::__export_common!($t);
        $crate::__export_lookup!($t);
    };
    ($t:ty, transform, lookup) => {
        $crate::__export_common!($t);
        $crate::__export_process!($t);
        $crate::__export_lookup!($t);
    };
    ($t:ty, lookup, transform) => {
        $crate::export!($t, transform, lookup);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_common {
    ($t:ty) => {
        #[doc(hidden)]
        static mut __CONVEYOR_INSTANCE: ::std::option::Option<$t> = ::std::option::Option::None;

        #[doc(hidden)]
        #[allow(unsafe_code)]
        fn __conveyor_instance() -> &'static mut ::std::option::Option<$t> {
            // A Wasm instance is single-threaded and the host never calls
            // it concurrently (ABI.md section 3.1).
            unsafe { &mut *::std::ptr::addr_of_mut!(__CONVEYOR_INSTANCE) }
        }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn _initialize() {
            $crate::rt::initialize();
        }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn conveyor_abi_version() -> u32 {
            $crate::ABI_VERSION
        }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn conveyor_alloc(size: u32) -> *mut u8 {
            $crate::rt::alloc(size)
        }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn conveyor_init(ptr: *const u8, len: u32) -> u64 {
            $crate::rt::export_init::<$t>(__conveyor_instance(), ptr, len)
        }

        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn conveyor_close() {
            $crate::rt::close::<$t>(__conveyor_instance())
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_process {
    ($t:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn conveyor_process(ptr: *const u8, len: u32) -> u64 {
            $crate::rt::export_process::<$t>(__conveyor_instance(), ptr, len)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_lookup {
    ($t:ty) => {
        #[cfg(target_arch = "wasm32")]
        #[no_mangle]
        pub extern "C" fn conveyor_lookup(ptr: *const u8, len: u32) -> u64 {
            $crate::rt::export_lookup::<$t>(__conveyor_instance(), ptr, len)
        }
    };
}

#[cfg(test)]
mod tests;
