//! pii-redactor, in Rust: replaces the values of configured JSON fields with
//! "[REDACTED]" (or config `replacement`) and keeps the rest of the payload.
//! It produces the same bytes as the Go example
//! (examples/plugins/pii-redactor), whose JSON library it mirrors in
//! `json.rs`. See README.md.

use conveyor::{Config, Emitter, Error, Plugin, Record, Transform};

mod json;

/// Replaces redacted values unless config `replacement` says otherwise.
pub const DEFAULT_REPLACEMENT: &str = "[REDACTED]";

/// One instance: the field paths and the replacement, plus a reused
/// output buffer.
pub struct Redactor {
    paths: Vec<Vec<String>>,
    replacement: String,
    buf: Vec<u8>,
}

/// Splits "email, user.phone" into [[email] [user phone]].
fn parse_paths(list: &str) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    for f in list.split(',') {
        let f = f.trim();
        if f.is_empty() {
            continue;
        }
        let p: Vec<String> = f.split('.').map(str::to_string).collect();
        if p.iter().any(|s| s.is_empty()) {
            return Err(format!("field path {} has an empty segment", json::go_quote(f.as_bytes())));
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err(r#"required: a comma-separated list of JSON field paths such as "email,user.phone""#.into());
    }
    Ok(out)
}

impl Plugin for Redactor {
    fn new(config: &Config) -> Result<Self, Error> {
        let paths = parse_paths(config.get("fields").unwrap_or("")).map_err(|e| format!("config \"fields\": {}", e))?;
        let replacement = config.get("replacement").unwrap_or(DEFAULT_REPLACEMENT).to_string();
        Ok(Redactor { paths, replacement, buf: Vec::new() })
    }
}

impl Transform for Redactor {
    /// Replaces every configured field present in the payload. A payload
    /// without any of them is emitted byte for byte unchanged.
    fn process(&mut self, r: &Record<'_>, out: &mut Emitter<'_>) -> Result<(), Error> {
        let mut doc = json::Doc::parse(r.payload).map_err(|e| format!("payload is not JSON: {}", e))?;
        let mut n = 0;
        for p in &self.paths {
            let (last, parent) = p.split_last().expect("non-empty path");
            let keys: Vec<&str> = parent.iter().map(String::as_str).collect();
            let parent = match doc.get(0, &keys) {
                Some(v) => v,
                None => continue,
            };
            if doc.get(parent, &[last]).is_none() {
                continue;
            }
            doc.set_string(parent, last, self.replacement.as_bytes());
            n += 1;
        }
        if n == 0 {
            out.emit(r);
            return Ok(());
        }
        self.buf.clear();
        doc.marshal(&mut self.buf);
        conveyor::counter("fields_redacted", n);
        out.emit(&Record { payload: &self.buf, ..*r });
        Ok(())
    }
}

conveyor::export!(Redactor, transform);

#[cfg(test)]
mod tests {
    use super::*;
    use conveyor::frame::Entry;
    use conveyor::testing::{counters, Harness};

    fn run(config: &[(&str, &str)], payload: &str) -> Entry {
        let mut h = Harness::<Redactor>::new(config).unwrap();
        let mut out = h.process(&[Record::new(b"k", payload.as_bytes())]);
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    fn payload(e: &Entry) -> String {
        match e {
            Entry::Record { payload, key, .. } => {
                assert_eq!(key, b"k");
                String::from_utf8(payload.clone()).unwrap()
            }
            other => panic!("not a record: {:?}", other),
        }
    }

    #[test]
    fn redact_cases() {
        let f = |v| [("fields", v)];
        assert_eq!(
            payload(&run(
                &f("email,user.phone"),
                r#"{"email":"a@b.c","user":{"phone":"+1 555","name":"Ann"},"n":1.50}"#
            )),
            r#"{"email":"[REDACTED]","user":{"phone":"[REDACTED]","name":"Ann"},"n":1.50}"#
        );
        assert_eq!(
            payload(&run(&[("fields", "email"), ("replacement", "***")], r#"{"email":"a@b.c"}"#)),
            r#"{"email":"***"}"#
        );
        assert_eq!(
            payload(&run(&f("ssn, card"), r#"{"ssn":123456789,"card":{"number":"4111"},"ok":true}"#)),
            r#"{"ssn":"[REDACTED]","card":"[REDACTED]","ok":true}"#
        );
        assert_eq!(
            payload(&run(&f("users.1.email"), r#"{"users":[{"email":"a"},{"email":"b"}]}"#)),
            r#"{"users":[{"email":"a"},{"email":"[REDACTED]"}]}"#
        );
        assert_eq!(payload(&run(&f("email"), r#"{ "name" : "x" }"#)), r#"{ "name" : "x" }"#);
        assert_eq!(payload(&run(&f("email"), "42")), "42");
        match run(&f("email"), "email=a@b.c") {
            Entry::Error { message, .. } => assert!(message.starts_with("payload is not JSON: "), "{}", message),
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn counter_fields_redacted() {
        let mut h = Harness::<Redactor>::new(&[("fields", "a,b,c")]).unwrap();
        h.process(&[Record::new(b"", br#"{"a":1,"b":2}"#), Record::new(b"", br#"{"c":3}"#), Record::new(b"", b"{}")]);
        assert_eq!(counters().get("fields_redacted"), Some(&3));
    }

    #[test]
    fn config_errors() {
        for (cfg, want) in [
            (&[][..], "config \"fields\": required"),
            (&[("fields", " , ,")][..], "config \"fields\": required"),
            (&[("fields", "user..phone")][..], "field path \"user..phone\" has an empty segment"),
        ] {
            match Harness::<Redactor>::new(cfg) {
                Err(e) => assert!(e.contains(want), "{} does not contain {}", e, want),
                Ok(_) => panic!("init succeeded for {:?}", cfg),
            }
        }
    }
}
