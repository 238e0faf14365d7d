//! Native unit tests for plugins (not under `wasm32`): a [`Harness`] runs a
//! plugin type through the same frame code the Wasm exports use, against a
//! stand-in host with a given config, a fixed clock, and captured logs and
//! counters. The stand-in host is per thread, so tests may run in parallel.
//!
//! ```ignore
//! #[test]
//! fn tags() {
//!     let mut h = conveyor::testing::Harness::<Tagger>::new(&[("tag", "x")]).unwrap();
//!     let out = h.process(&[conveyor::Record::new(b"k", b"{}")]);
//!     assert_eq!(out.len(), 1);
//! }
//! ```

use std::collections::BTreeMap;

use crate::frame::{self, Entry};
use crate::host::imp::FAKE;
use crate::{rt, Level, Lookup, Plugin, Record, Transform};

/// One plugin instance on the stand-in host.
pub struct Harness<T: Plugin> {
    inst: Option<T>,
    out: Vec<u8>,
}

impl<T: Plugin> Harness<T> {
    /// Resets this thread's stand-in host to `config` and builds the
    /// instance from an encoded config frame; `Err` is the init error text.
    pub fn new(config: &[(&str, &str)]) -> Result<Self, String> {
        let mut frame = Vec::new();
        frame::append_config(&mut frame, config);
        let sorted = frame::decode_config(&frame).map_err(|e| e.to_string())?;
        FAKE.with(|f| {
            let mut f = f.borrow_mut();
            f.config = sorted;
            f.logs.clear();
            f.counters.clear();
        });
        let mut inst = None;
        rt::init(&mut inst, &frame)?;
        Ok(Harness { inst, out: Vec::new() })
    }

    /// Runs one batch and returns the decoded output entries. Panics if
    /// the output frame does not decode strictly.
    pub fn process(&mut self, records: &[Record<'_>]) -> Vec<Entry>
    where
        T: Transform,
    {
        let mut input = Vec::new();
        frame::append_input_batch(&mut input, records);
        let out = rt::process(&mut self.inst, &input, &mut self.out);
        match frame::decode_output(out, records.len()) {
            Ok(e) => e,
            Err(e) => panic!("conveyor: the plugin wrote an invalid output frame: {}", e),
        }
    }

    /// Looks up a batch of keys; `None` is a miss.
    pub fn lookup(&mut self, keys: &[&[u8]]) -> Vec<Option<Vec<u8>>>
    where
        T: Lookup,
    {
        let mut req = Vec::new();
        frame::append_lookup_request(&mut req, keys);
        let out = rt::lookup(&mut self.inst, &req, &mut self.out);
        match frame::decode_lookup_result(out, keys.len()) {
            Ok(r) => r,
            Err(e) => panic!("conveyor: the plugin wrote an invalid lookup result: {}", e),
        }
    }

    /// The instance, for assertions on its state.
    pub fn instance(&mut self) -> &mut T {
        self.inst.as_mut().expect("instance")
    }
}

impl<T: Plugin> Drop for Harness<T> {
    fn drop(&mut self) {
        rt::close(&mut self.inst);
    }
}

/// The lines logged on this thread since the last [`Harness::new`].
pub fn logs() -> Vec<(Level, String)> {
    FAKE.with(|f| {
        f.borrow()
            .logs
            .iter()
            .map(|(l, m)| {
                let level = match *l {
                    i32::MIN..=0 => Level::Debug,
                    1 => Level::Info,
                    2 => Level::Warn,
                    _ => Level::Error,
                };
                (level, String::from_utf8_lossy(m).into_owned())
            })
            .collect()
    })
}

/// The counters on this thread since the last [`Harness::new`].
pub fn counters() -> BTreeMap<String, i64> {
    FAKE.with(|f| f.borrow().counters.clone())
}

/// Pins this thread's clock (Unix nanoseconds).
pub fn set_clock(nanos: i64) {
    FAKE.with(|f| f.borrow_mut().clock = nanos);
}
