//! Native unit tests: `rustc --edition 2021 --test src/lib.rs`.

use crate::frame::{self, Entry};
use crate::testing::{self, Harness};
use crate::{Config, Emitter, Error, Level, Lookup, LookupOutput, Output, Plugin, Record, Transform};

// ABI.md section 6.9, the input example, byte for byte.
const EXAMPLE_INPUT: &[u8] = &[
    0x43, 0x56, 0x59, 0x42, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, //
    0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x01, 0x00, 0x00, 0x00, 0x4b, //
    0x01, 0x00, 0x00, 0x00, 0x50, //
    0x00, 0x00, 0x00, 0x00,
];

#[test]
fn frame_decode_input_abi_example() {
    let mut md = Vec::new();
    let raw = frame::decode_input(EXAMPLE_INPUT, &mut md).unwrap();
    let recs = frame::records(&raw, &md);
    assert_eq!(recs, vec![Record { key: b"K", payload: b"P", metadata: &[], event_time: Some(258) }]);
}

#[test]
fn frame_encode_input_abi_example() {
    // Our writer says minor 1; the example was written by a 1.0 host.
    let mut b = Vec::new();
    frame::append_input_batch(&mut b, &[Record { key: b"K", payload: b"P", metadata: &[], event_time: Some(258) }]);
    let mut want = EXAMPLE_INPUT.to_vec();
    want[6] = 1;
    assert_eq!(b, want);
}

#[test]
fn frame_decode_input_rejects() {
    let base = EXAMPLE_INPUT.to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short header", base[..15].to_vec(), "truncated header"),
        ("bad magic", set(&base, 0, b'X'), "bad magic"),
        ("major 2", set(&base, 4, 2), "unsupported version 2.0"),
        ("kind 2", set(&base, 8, 2), "frame kind 2, want 1"),
        ("header flags", set(&base, 9, 1), "unknown header flags"),
        ("reserved", set(&base, 11, 1), "reserved field"),
        ("count too big", set(&base, 12, 2), "record count 2 exceeds"),
        ("record flags", set(&base, 16, 3), "unknown record flags 0x3"),
        ("time without flag", set(&base, 16, 0), "set without the event-time flag"),
        ("key past end", set(&base, 25, 200), "key length 200 past end"),
        ("trailing", [&base[..], &[0u8][..]].concat(), "1 trailing bytes"),
        ("truncated metadata", base[..base.len() - 1].to_vec(), "truncated metadata count"),
    ];
    for (name, b, want) in cases {
        let mut md = Vec::new();
        match frame::decode_input(&b, &mut md) {
            Ok(_) => panic!("{}: decoded", name),
            Err(e) => assert!(e.to_string().contains(want), "{}: {} does not contain {:?}", name, e, want),
        }
    }
}

#[test]
fn frame_minor_versions_accepted() {
    let b = set(EXAMPLE_INPUT, 6, 7);
    let mut md = Vec::new();
    assert!(frame::decode_input(&b, &mut md).is_ok());
}

fn set(b: &[u8], i: usize, v: u8) -> Vec<u8> {
    let mut b = b.to_vec();
    b[i] = v;
    b
}

#[test]
fn frame_config_round_trip_and_order() {
    let mut b = Vec::new();
    frame::append_config(&mut b, &[("b", "2"), ("a", "1")]);
    assert_eq!(&b[..4], b"CVYC");
    let got = frame::decode_config(&b).unwrap();
    assert_eq!(got, vec![("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())]);
    // Swap the entries: unsorted keys are rejected.
    let mut bad = b[..12].to_vec();
    for (k, v) in [("b", "2"), ("a", "1")] {
        frame::put_bytes(&mut bad, k.as_bytes());
        frame::put_bytes(&mut bad, v.as_bytes());
    }
    assert!(frame::decode_config(&bad).unwrap_err().to_string().contains("keys must be unique and sorted"));
    let mut empty = Vec::new();
    frame::append_config(&mut empty, &[]);
    assert_eq!(empty.len(), 12);
    assert!(frame::decode_config(&empty).unwrap().is_empty());
}

#[test]
fn frame_output_drop_abi_example() {
    let mut buf = Vec::new();
    let mut o = Output::new(&mut buf, 1);
    o.discard(0);
    let got = o.finish().to_vec();
    let want: &[u8] = &[
        0x43, 0x56, 0x59, 0x42, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, //
        0x01, 0x00, 0x00, 0x00, 0x00,
    ];
    assert_eq!(got, want);
    assert_eq!(frame::decode_output(&got, 1).unwrap(), vec![Entry::Drop { input: 0 }]);
    assert!(frame::decode_output(&got, 0).is_err(), "input index out of range");
}

struct Tagger {
    tag: String,
}

impl Plugin for Tagger {
    fn new(config: &Config) -> Result<Self, Error> {
        Ok(Tagger { tag: config.require("tag")?.to_string() })
    }
}

impl Transform for Tagger {
    fn process(&mut self, r: &Record<'_>, out: &mut Emitter<'_>) -> Result<(), Error> {
        if r.payload == b"fail" {
            out.emit(r); // rolled back
            return Err("bad payload".into());
        }
        if r.payload == b"drop" {
            return Ok(());
        }
        let mut md = r.metadata.to_vec();
        md.push((b"tag", self.tag.as_bytes()));
        out.emit(&Record { metadata: &md, ..*r });
        if r.payload == b"twice" {
            out.emit(&Record { key: b"second", ..*r });
        }
        crate::counter("seen", 1);
        crate::info!("key {}", r.key_str().unwrap_or("?"));
        Ok(())
    }
}

#[test]
fn transform_harness_outputs() {
    let mut h = Harness::<Tagger>::new(&[("tag", "x")]).unwrap();
    let md: &[(&[u8], &[u8])] = &[(b"a", b"1")];
    let out = h.process(&[
        Record { key: b"k0", payload: b"p", metadata: md, event_time: Some(-5) },
        Record::new(b"k1", b"fail"),
        Record::new(b"k2", b"drop"),
        Record::new(b"k3", b"twice"),
    ]);
    let rec = |input, key: &[u8], payload: &[u8], md: Vec<(&[u8], &[u8])>, t| Entry::Record {
        input,
        key: key.to_vec(),
        payload: payload.to_vec(),
        metadata: md.into_iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
        event_time: t,
    };
    assert_eq!(
        out,
        vec![
            rec(0, b"k0", b"p", vec![(b"a", b"1"), (b"tag", b"x")], Some(-5)),
            Entry::Error { input: 1, message: "bad payload".into() },
            rec(3, b"k3", b"twice", vec![(b"tag", b"x")], None),
            rec(3, b"second", b"twice", vec![], None),
        ]
    );
    assert_eq!(testing::counters().get("seen"), Some(&2));
    assert_eq!(testing::logs()[0], (Level::Info, "key k0".to_string()));
    assert!(h.process(&[]).is_empty());
}

#[test]
fn transform_harness_init_error() {
    match Harness::<Tagger>::new(&[]) {
        Err(e) => assert_eq!(e, "config \"tag\" is required"),
        Ok(_) => panic!("init succeeded"),
    }
}

struct Batcher;

impl Plugin for Batcher {
    fn new(_: &Config) -> Result<Self, Error> {
        Ok(Batcher)
    }
}

impl Transform for Batcher {
    fn process(&mut self, _: &Record<'_>, _: &mut Emitter<'_>) -> Result<(), Error> {
        unreachable!()
    }
    fn process_batch(&mut self, records: &[Record<'_>], out: &mut Output<'_>) {
        for i in (0..records.len()).rev() {
            out.emit(i, &records[i]);
            out.error(i, "");
        }
    }
}

#[test]
fn transform_batch_override_any_order() {
    let mut h = Harness::<Batcher>::new(&[]).unwrap();
    let out = h.process(&[Record::new(b"a", b""), Record::new(b"b", b"")]);
    assert_eq!(out.len(), 4);
    assert_eq!(out[1], Entry::Error { input: 1, message: "transform failed with an empty error".into() });
}

struct Table;

impl Plugin for Table {
    fn new(_: &Config) -> Result<Self, Error> {
        Ok(Table)
    }
}

impl Lookup for Table {
    fn lookup(&mut self, key: &[u8], row: &mut Vec<u8>) -> bool {
        if key.starts_with(b"hit-") {
            row.extend_from_slice(b"{\"n\":");
            row.extend_from_slice(key.len().to_string().as_bytes());
            row.push(b'}');
            return true;
        }
        false
    }
}

#[test]
fn lookup_harness() {
    let mut h = Harness::<Table>::new(&[]).unwrap();
    let got = h.lookup(&[b"hit-a", b"", b"x", b"hit-a"]);
    assert_eq!(got, vec![Some(b"{\"n\":5}".to_vec()), None, None, Some(b"{\"n\":5}".to_vec())]);
    assert!(h.lookup(&[]).is_empty());
}

#[test]
#[should_panic(expected = "answered 1 of 2 keys")]
fn lookup_output_counts_answers() {
    let mut buf = Vec::new();
    let mut o = LookupOutput::new(&mut buf, 2);
    o.miss();
    o.finish();
}

#[test]
fn config_accessors() {
    let c = Config::from_pairs(&[("n", "3"), ("a", "x"), ("n", "4")]);
    assert_eq!(c.get("n"), Some("4"));
    assert_eq!(c.parse::<u32>("n").unwrap(), Some(4));
    assert!(c.parse::<u32>("a").unwrap_err().to_string().starts_with("config \"a\": "));
    assert_eq!(c.parse::<u32>("zz").unwrap(), None);
    assert_eq!(c.iter().map(|(k, _)| k).collect::<Vec<_>>(), vec!["a", "n"]);
}
