//! The host functions of ABI.md section 4: imports from module `conveyor`
//! under `wasm32`, a stand-in host natively (see `testing`).

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "conveyor")]
    extern "C" {
        fn log_v1(level: i32, ptr: *const u8, len: u32);
        fn config_get_v1(key_ptr: *const u8, key_len: u32, out_ptr: *mut u8, out_cap: u32) -> i32;
        fn clock_now_v1() -> i64;
        fn metric_add_v1(name_ptr: *const u8, name_len: u32, delta: i64);
    }

    pub fn log(level: i32, msg: &[u8]) {
        unsafe { log_v1(level, msg.as_ptr(), msg.len() as u32) }
    }

    pub fn config_get(key: &[u8]) -> Option<Vec<u8>> {
        // A length query first (out_cap 0 writes nothing), then the value;
        // loop in case it changed size in between.
        let mut n = unsafe { config_get_v1(key.as_ptr(), key.len() as u32, std::ptr::null_mut(), 0) };
        loop {
            if n < 0 {
                return None;
            }
            let mut v = vec![0u8; n as usize];
            let m = unsafe { config_get_v1(key.as_ptr(), key.len() as u32, v.as_mut_ptr(), v.len() as u32) };
            if m >= 0 && m as usize <= v.len() {
                v.truncate(m as usize);
                return Some(v);
            }
            n = m;
        }
    }

    pub fn clock_now() -> i64 {
        unsafe { clock_now_v1() }
    }

    pub fn metric_add(name: &[u8], delta: i64) {
        unsafe { metric_add_v1(name.as_ptr(), name.len() as u32, delta) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod imp {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// The stand-in host of one test thread.
    #[derive(Default)]
    pub(crate) struct Fake {
        pub(crate) config: Vec<(String, String)>,
        pub(crate) logs: Vec<(i32, Vec<u8>)>,
        pub(crate) counters: BTreeMap<String, i64>,
        pub(crate) clock: i64,
    }

    thread_local! {
        pub(crate) static FAKE: RefCell<Fake> = RefCell::new(Fake { clock: 1_700_000_000_000_000_000, ..Fake::default() });
    }

    pub fn log(level: i32, msg: &[u8]) {
        FAKE.with(|f| f.borrow_mut().logs.push((level, msg.to_vec())));
    }

    pub fn config_get(key: &[u8]) -> Option<Vec<u8>> {
        FAKE.with(|f| f.borrow().config.iter().find(|(k, _)| k.as_bytes() == key).map(|(_, v)| v.as_bytes().to_vec()))
    }

    pub fn clock_now() -> i64 {
        FAKE.with(|f| f.borrow().clock)
    }

    pub fn metric_add(name: &[u8], delta: i64) {
        let name = String::from_utf8_lossy(name).into_owned();
        FAKE.with(|f| *f.borrow_mut().counters.entry(name).or_insert(0) += delta);
    }
}

pub(crate) use imp::*;
