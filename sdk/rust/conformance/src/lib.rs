//! The Rust SDK's conformance guest: the protocol of
//! plugins/conformance/README.md (ABI 1.1, transform and lookup), written
//! against the SDK's public API. The behaviour of `conveyor_process` is
//! chosen by config key `mode`.

use conveyor::{Config, Emitter, Error, Lookup, LookupOutput, Output, Plugin, Record, Transform};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Echo,
    Drop,
    Split,
    Rewrite,
    ErrorOdd,
    Mixed,
    Trap,
    Loop,
    Grow,
    Stack,
    Log,
    LogFlood,
    Counter,
    Config,
}

/// One instance of the conformance guest.
pub struct Guest {
    mode: Mode,
    n: u32,
}

impl Plugin for Guest {
    fn new(config: &Config) -> Result<Self, Error> {
        let mode = match config.get("mode").unwrap_or("echo") {
            "echo" | "lookup" => Mode::Echo,
            "drop" => Mode::Drop,
            "split" => Mode::Split,
            "rewrite" => Mode::Rewrite,
            "error_odd" => Mode::ErrorOdd,
            "mixed" => Mode::Mixed,
            "trap" => Mode::Trap,
            "loop" => Mode::Loop,
            "grow" => Mode::Grow,
            "stack" => Mode::Stack,
            "log" => Mode::Log,
            "logflood" => Mode::LogFlood,
            "counter" => Mode::Counter,
            "config" => Mode::Config,
            other => return Err(format!("unknown mode {:?}", other).into()),
        };
        let n = config.parse::<u32>("n")?.unwrap_or(3);
        Ok(Guest { mode, n })
    }
}

impl Transform for Guest {
    fn process(&mut self, r: &Record<'_>, out: &mut Emitter<'_>) -> Result<(), Error> {
        match self.mode {
            Mode::Drop => {}
            Mode::Split => {
                for p in 0..self.n {
                    let v = p.to_string();
                    let mut md = r.metadata.to_vec();
                    md.push((b"part", v.as_bytes()));
                    out.emit(&Record { metadata: &md, ..*r });
                }
            }
            Mode::Rewrite => {
                let key = [b"k-", r.key].concat();
                let mut md = r.metadata.to_vec();
                md.push((b"seen", b"1"));
                let event_time = r.event_time.map(|t| t.wrapping_add(1000));
                out.emit(&Record { key: &key, metadata: &md, event_time, ..*r });
            }
            Mode::ErrorOdd if out.input() % 2 == 1 => return Err("odd record".into()),
            Mode::Log => {
                conveyor::log_bytes(conveyor::Level::Info, r.payload);
                out.emit(r);
            }
            Mode::Counter => {
                conveyor::counter("records", 1);
                out.emit(r);
            }
            Mode::Config => {
                let payload = match conveyor::config_get("value") {
                    Some(v) => {
                        let mut p = b"{\"value\":".to_vec();
                        json_string(&mut p, &v);
                        p.extend_from_slice(b",\"present\":true}");
                        p
                    }
                    None => b"{\"value\":null,\"present\":false}".to_vec(),
                };
                out.emit(&Record::new(r.key, &payload));
            }
            _ => out.emit(r),
        }
        Ok(())
    }

    fn process_batch(&mut self, records: &[Record<'_>], out: &mut Output<'_>) {
        match self.mode {
            Mode::Trap => trap(),
            Mode::Loop => spin(),
            Mode::Grow => grow(),
            Mode::Stack => {
                let n = recurse(0);
                // Never reached: recurse only returns if STOP is set.
                out.error(0, &n.to_string());
            }
            Mode::Mixed => {
                for (i, r) in records.iter().enumerate() {
                    out.emit(i, r);
                    out.error(i, "mixed");
                }
            }
            Mode::LogFlood => {
                for _ in 0..10000 {
                    conveyor::log(conveyor::Level::Info, "flood");
                }
                for (i, r) in records.iter().enumerate() {
                    out.emit(i, r);
                }
            }
            _ => {
                for (i, r) in records.iter().enumerate() {
                    out.record(i, |e| self.process(r, e));
                }
            }
        }
    }
}

impl Lookup for Guest {
    fn lookup(&mut self, key: &[u8], row: &mut Vec<u8>) -> bool {
        if !key.starts_with(b"hit-") {
            return false;
        }
        row.extend_from_slice(b"{\"key\":\"");
        row.extend_from_slice(key); // the suite's keys need no escaping
        row.extend_from_slice(b"\",\"n\":");
        row.extend_from_slice(key.len().to_string().as_bytes());
        row.push(b'}');
        true
    }

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

conveyor::export!(Guest, transform, lookup);

/// Appends s as a JSON string: `"`, `\` and control characters escaped,
/// everything else (UTF-8) as is.
fn json_string(dst: &mut Vec<u8>, s: &[u8]) {
    dst.push(b'"');
    for &c in s {
        match c {
            b'"' => dst.extend_from_slice(b"\\\""),
            b'\\' => dst.extend_from_slice(b"\\\\"),
            c if c < 0x20 => dst.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => dst.push(c),
        }
    }
    dst.push(b'"');
}

fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("trap");
}

/// Loops forever without host calls (a volatile store per iteration keeps
/// the loop from being optimised away).
fn spin() -> ! {
    let mut x = 0u64;
    loop {
        unsafe { std::ptr::write_volatile(&mut x, x.wrapping_add(1)) };
    }
}

/// Grows memory a page (64 KiB) at a time until the host refuses, then
/// says `out of memory` on stderr and traps (ABI.md section 3.2).
fn grow() -> ! {
    #[cfg(target_arch = "wasm32")]
    while core::arch::wasm32::memory_grow(0, 1) != usize::MAX {}
    use std::io::Write;
    let _ = std::io::stderr().write_all(b"conformance guest: out of memory\n");
    trap()
}

static mut STOP: bool = false;

/// Unbounded non-tail recursion. Each frame keeps 8 u64 (64 bytes) alive
/// across the call in Wasm locals, so it overflows the runtime's call stack
/// rather than the shadow stack in linear memory.
#[inline(never)]
fn recurse(d: u64) -> u64 {
    if unsafe { std::ptr::read_volatile(std::ptr::addr_of!(STOP)) } {
        return d;
    }
    let a = [d, d ^ 1, d ^ 2, d ^ 3, d ^ 4, d ^ 5, d ^ 6, d ^ 7];
    let r = recurse(d + 1);
    a.iter().fold(r, |acc, x| acc.wrapping_mul(31).wrapping_add(*x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use conveyor::frame::Entry;
    use conveyor::testing::Harness;

    #[test]
    fn modes() {
        let mut h = Harness::<Guest>::new(&[("mode", "split"), ("n", "2")]).unwrap();
        assert_eq!(h.process(&[Record::new(b"k", b"p")]).len(), 2);
        let mut h = Harness::<Guest>::new(&[("mode", "mixed")]).unwrap();
        let out = h.process(&[Record::new(b"k", b"p")]);
        assert_eq!(out[1], Entry::Error { input: 0, message: "mixed".into() });
        assert!(Harness::<Guest>::new(&[("mode", "x")]).err().unwrap().contains("unknown mode"));
        let mut h = Harness::<Guest>::new(&[]).unwrap();
        assert_eq!(h.lookup(&[b"hit-ab", b"no"]), vec![Some(b"{\"key\":\"hit-ab\",\"n\":6}".to_vec()), None]);
    }

    #[test]
    fn json_string_escapes() {
        let mut b = Vec::new();
        json_string(&mut b, "a\"b\\c é\n".as_bytes());
        assert_eq!(String::from_utf8(b).unwrap(), "\"a\\\"b\\\\c é\\u000a\"");
    }
}
