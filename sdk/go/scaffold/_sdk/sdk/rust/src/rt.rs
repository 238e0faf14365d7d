//! The guest runtime behind the exports that [`export!`](crate::export)
//! generates. Not a public API: the macro calls it.

use crate::frame;
use crate::{Config, Lookup, LookupOutput, Output, Plugin, Transform};

/// The buffers of a module: the `conveyor_alloc` buffer the host writes
/// frames into, the output frame, and an init error message.
struct Buffers {
    input: Vec<u8>,
    output: Vec<u8>,
    err: Vec<u8>,
}

static mut BUFFERS: Buffers = Buffers { input: Vec::new(), output: Vec::new(), err: Vec::new() };

#[allow(dead_code)]
fn buffers() -> &'static mut Buffers {
    // One thread per Wasm instance, and no export re-enters another.
    unsafe { &mut *std::ptr::addr_of_mut!(BUFFERS) }
}

/// The smallest input buffer; growing doubles from it.
const MIN_ALLOC: usize = 64 << 10;

/// `_initialize`: runs the constructors wasm-ld collected, once.
#[cfg(target_arch = "wasm32")]
pub fn initialize() {
    extern "C" {
        fn __wasm_call_ctors();
    }
    unsafe { __wasm_call_ctors() }
}

/// `conveyor_alloc`: one input buffer, reused and grown (doubling, 64 KiB
/// minimum), never shrunk. If it cannot grow, it says `out of memory` on
/// stderr and traps (ABI.md section 3.2).
pub fn alloc(size: u32) -> *mut u8 {
    let b = &mut buffers().input;
    let size = size as usize;
    if b.capacity() < size || b.capacity() == 0 {
        let mut n = MIN_ALLOC.max(2 * b.capacity());
        while n < size {
            n *= 2;
        }
        let mut v: Vec<u8> = Vec::new();
        if v.try_reserve_exact(n).is_err() {
            out_of_memory(n);
        }
        *b = v;
    }
    b.as_mut_ptr()
}

/// Writes an out-of-memory message to stderr and traps.
pub fn out_of_memory(n: usize) -> ! {
    eprintln!("conveyor: out of memory allocating {} bytes", n);
    std::process::abort()
}

/// The frame the host wrote at `ptr`; it must lie in the alloc buffer.
fn input_frame(ptr: *const u8, len: u32) -> &'static [u8] {
    let b = &buffers().input;
    let base = b.as_ptr() as usize;
    let p = ptr as usize;
    if p < base || (p - base) as u64 + len as u64 > b.capacity() as u64 {
        panic!(
            "conveyor: frame at {:#x}+{} lies outside the conveyor_alloc buffer at {:#x}+{}",
            p,
            len,
            base,
            b.capacity()
        );
    }
    unsafe { std::slice::from_raw_parts(ptr, len as usize) }
}

fn pack(b: &[u8]) -> u64 {
    (b.as_ptr() as usize as u64) << 32 | b.len() as u64
}

/// `conveyor_init`.
pub fn export_init<T: Plugin>(slot: &mut Option<T>, ptr: *const u8, len: u32) -> u64 {
    let frame = input_frame(ptr, len);
    match init(slot, frame) {
        Ok(()) => 0,
        Err(msg) => {
            let e = &mut buffers().err;
            e.clear();
            e.extend_from_slice(msg.as_bytes());
            pack(e)
        }
    }
}

/// Decodes the config frame and builds the instance. The error text is
/// never empty: pointer and length 0 would read as success.
pub fn init<T: Plugin>(slot: &mut Option<T>, frame: &[u8]) -> Result<(), String> {
    let entries = frame::decode_config(frame).map_err(|e| format!("conveyor: decode config: {}", e))?;
    match T::new(&Config::from_sorted(entries)) {
        Ok(t) => {
            *slot = Some(t);
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            Err(if msg.is_empty() { "init failed with an empty error".to_string() } else { msg })
        }
    }
}

/// `conveyor_process`.
pub fn export_process<T: Transform>(slot: &mut Option<T>, ptr: *const u8, len: u32) -> u64 {
    let frame = input_frame(ptr, len);
    pack(process(slot, frame, &mut buffers().output))
}

/// Decodes an input batch, runs the transform and returns the output frame.
pub fn process<'o, T: Transform>(slot: &mut Option<T>, frame: &[u8], out: &'o mut Vec<u8>) -> &'o [u8] {
    let t = match slot {
        Some(t) => t,
        None => panic!("conveyor: conveyor_process called before a successful conveyor_init"),
    };
    let mut md = Vec::new();
    let raw = match frame::decode_input(frame, &mut md) {
        Ok(r) => r,
        Err(e) => panic!("conveyor: {}", e),
    };
    let recs = frame::records(&raw, &md);
    let mut o = Output::new(out, recs.len());
    t.process_batch(&recs, &mut o);
    o.finish()
}

/// `conveyor_lookup`.
pub fn export_lookup<T: Lookup>(slot: &mut Option<T>, ptr: *const u8, len: u32) -> u64 {
    let frame = input_frame(ptr, len);
    pack(lookup(slot, frame, &mut buffers().output))
}

/// Decodes a lookup request, runs the lookup and returns the result frame.
pub fn lookup<'o, T: Lookup>(slot: &mut Option<T>, frame: &[u8], out: &'o mut Vec<u8>) -> &'o [u8] {
    let t = match slot {
        Some(t) => t,
        None => panic!("conveyor: conveyor_lookup called before a successful conveyor_init"),
    };
    let keys = match frame::decode_lookup_request(frame) {
        Ok(k) => k,
        Err(e) => panic!("conveyor: {}", e),
    };
    let mut o = LookupOutput::new(out, keys.len());
    t.lookup_batch(&keys, &mut o);
    o.finish()
}

/// `conveyor_close`.
pub fn close<T: Plugin>(slot: &mut Option<T>) {
    if let Some(mut t) = slot.take() {
        t.close();
    }
}
