//! user-tier, in Rust: a lookup plugin (ABI 1.1) that answers user ids with
//! their customer tier from a table compiled into the module, the twin of
//! examples/plugins/user-tier. See README.md.

use std::collections::HashMap;

use conveyor::{Config, Error, Lookup, Plugin};

/// One `{"user_id": ..., ...}` object per line, compiled in.
const TIERS: &str = include_str!("../tiers.jsonl");

/// One instance: the table, and the row for unknown users if configured.
pub struct UserTier {
    rows: HashMap<&'static str, &'static str>,
    default_row: Option<Vec<u8>>,
}

/// Parses the table: each non-empty line is a JSON object with a string
/// `user_id`; the line itself is the row.
fn parse(table: &'static str) -> Result<HashMap<&'static str, &'static str>, String> {
    let mut rows = HashMap::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match user_id(line) {
            Some(id) => rows.insert(id, line),
            None => return Err(format!("tiers.jsonl:{}: want an object with a user_id", n + 1)),
        };
    }
    Ok(rows)
}

/// The value of `"user_id":"..."` in a flat object of our own table (ids
/// hold no escapes).
fn user_id(line: &str) -> Option<&str> {
    let rest = &line[line.find("\"user_id\"")? + "\"user_id\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let id = &rest[..rest.find('"')?];
    if id.is_empty() || id.contains('\\') {
        return None;
    }
    Some(id)
}

/// Appends s as a JSON string.
fn json_string(dst: &mut Vec<u8>, s: &str) {
    dst.push(b'"');
    for c in s.chars() {
        match c {
            '"' => dst.extend_from_slice(b"\\\""),
            '\\' => dst.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => dst.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut b = [0u8; 4];
                dst.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    dst.push(b'"');
}

impl Plugin for UserTier {
    fn new(config: &Config) -> Result<Self, Error> {
        let rows = parse(TIERS)?;
        let default_row = config.get("default_tier").map(|t| {
            let mut row = b"{\"tier\":".to_vec();
            json_string(&mut row, t);
            row.extend_from_slice(b",\"default\":true}");
            row
        });
        Ok(UserTier { rows, default_row })
    }
}

impl Lookup for UserTier {
    fn lookup(&mut self, key: &[u8], row: &mut Vec<u8>) -> bool {
        let found = std::str::from_utf8(key).ok().and_then(|k| self.rows.get(k));
        match (found, &self.default_row) {
            (Some(r), _) => row.extend_from_slice(r.as_bytes()),
            (None, Some(d)) => row.extend_from_slice(d),
            (None, None) => return false,
        }
        true
    }
}

conveyor::export!(UserTier, lookup);

#[cfg(test)]
mod tests {
    use super::*;
    use conveyor::testing::Harness;

    #[test]
    fn lookups() {
        let mut h = Harness::<UserTier>::new(&[]).unwrap();
        let got = h.lookup(&[b"u1", b"nobody", b""]);
        assert_eq!(got[0].as_deref(), Some(&br#"{"user_id":"u1","tier":"gold","since":"2021-03-01"}"#[..]));
        assert_eq!(got[1], None);
        assert_eq!(got[2], None);
        let mut h = Harness::<UserTier>::new(&[("default_tier", "free")]).unwrap();
        assert_eq!(h.lookup(&[b"nobody"])[0].as_deref(), Some(&br#"{"tier":"free","default":true}"#[..]));
    }

    #[test]
    fn parse_rejects_rows_without_user_id() {
        assert!(parse("{\"tier\":\"gold\"}\n").unwrap_err().contains("tiers.jsonl:1"));
        assert_eq!(user_id(r#"{"user_id" : "u9","tier":"x"}"#), Some("u9"));
    }
}
