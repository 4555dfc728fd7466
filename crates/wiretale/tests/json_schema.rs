//! The JSON form of timeline events (`wiretale timeline --format jsonl`) against its
//! documentation, `docs/json-schema.md`, on real events: those of every capture in `testdata/`
//! and, when present, in `../shared/captures`.
//!
//! * Every top-level key of every event is documented, for its `proto` and `kind` or among the
//!   common keys, and its JSON type is one the document allows.
//! * Every `proto` / `kind` that occurs is documented.
//! * The keys scripts rely on are there with the right types, and each of them was seen:
//!   `handshake_type` (number) on TLS handshakes; `method`, `target`, `version` (strings) on
//!   HTTP requests; `status` (number) on responses; `message_type` (1, 2 or 3) on NTLM
//!   messages, `challenge` (hex) on Type 2, `user`, `domain`, `workstation` on Type 3.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{analyze, capture_files, file_name, shared_captures};

/// JSON types as the document names them.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A documented key: its allowed JSON types, and whether it may be left out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    types: BTreeSet<String>,
    optional: bool,
}

/// Keys of events, from the key tables of `docs/json-schema.md`.
#[derive(Debug, Default)]
struct Schema {
    common: BTreeMap<String, Key>,
    kinds: BTreeMap<(String, String), BTreeMap<String, Key>>,
}

impl Schema {
    fn load() -> Schema {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json-schema.md");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Schema::parse(&text)
    }

    /// Sections: `## Common keys`, `## \`PROTO\` events` and, inside, `### \`KIND\``
    /// (several kinds sharing a table: `### \`A\`, \`B\``). Key rows:
    /// `| \`key\` | type [or type...] | meaning |`; a meaning starting with `*(optional`
    /// marks a key that may be left out. Rows elsewhere are ignored.
    fn parse(text: &str) -> Schema {
        let mut schema = Schema::default();
        let mut proto: Option<String> = None;
        let mut kinds: Vec<String> = Vec::new();
        let mut common = false;
        let quoted = |s: &str| -> Option<String> {
            let s = s.trim();
            let inner = s.strip_prefix('`')?;
            let end = inner.find('`')?;
            Some(inner[..end].to_string())
        };
        for line in text.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                common = h.trim() == "Common keys";
                proto = h.strip_suffix(" events").and_then(quoted);
                kinds.clear();
                continue;
            }
            if let Some(h) = line.strip_prefix("### ") {
                kinds = match proto {
                    Some(_) => h.split(',').filter_map(quoted).collect(),
                    None => Vec::new(),
                };
                if let Some(p) = &proto {
                    for k in &kinds {
                        schema.kinds.entry((p.clone(), k.clone())).or_default();
                    }
                }
                continue;
            }
            let Some(row) = line.strip_prefix('|') else {
                continue;
            };
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (Some(key), Some(types)) = (cells.first().and_then(|c| quoted(c)), cells.get(1))
            else {
                continue;
            };
            let types: BTreeSet<String> = types
                .split(" or ")
                .map(|t| t.trim().trim_matches('`').to_string())
                .collect();
            let optional = cells.get(2).is_some_and(|m| m.starts_with("*(optional"));
            let entry = Key {
                types: types.clone(),
                optional,
            };
            for t in &types {
                assert!(
                    ["null", "boolean", "number", "string", "array", "object"]
                        .contains(&t.as_str()),
                    "docs/json-schema.md: key {key}: unknown JSON type {t:?}"
                );
            }
            if common {
                schema.common.insert(key, entry);
            } else if let Some(p) = &proto {
                for k in &kinds {
                    schema
                        .kinds
                        .entry((p.clone(), k.clone()))
                        .or_default()
                        .insert(key.clone(), entry.clone());
                }
            }
        }
        assert!(
            schema.common.contains_key("frame") && !schema.kinds.is_empty(),
            "docs/json-schema.md: no key tables found"
        );
        schema
    }

    /// Problems with one event.
    fn check(&self, event: &Value) -> Vec<String> {
        let mut bad = Vec::new();
        let proto = event.get("proto").and_then(Value::as_str).unwrap_or("?");
        let kind = event.get("kind").and_then(Value::as_str).unwrap_or("?");
        let Some(own) = self.kinds.get(&(proto.to_string(), kind.to_string())) else {
            return vec![format!("{proto}/{kind} is not documented")];
        };
        let Some(object) = event.as_object() else {
            return vec!["not a JSON object".to_string()];
        };
        for (key, value) in object {
            let Some(documented) = own.get(key).or_else(|| self.common.get(key)) else {
                bad.push(format!("{proto}/{kind}: key {key:?} is not documented"));
                continue;
            };
            if !documented.types.contains(json_type(value)) {
                bad.push(format!(
                    "{proto}/{kind}: key {key:?} is {} ({value}), documented as {:?}",
                    json_type(value),
                    documented.types
                ));
            }
        }
        for (key, documented) in self.common.iter().chain(own) {
            if !documented.optional && !object.contains_key(key) {
                bad.push(format!("{proto}/{kind}: key {key:?} is missing"));
            }
        }
        bad
    }
}

/// Every capture to take events from: `testdata/` always, the shared corpus when present.
fn sources() -> Vec<(PathBuf, PathBuf)> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut out: Vec<(PathBuf, PathBuf)> = capture_files(&testdata)
        .into_iter()
        .map(|c| (testdata.clone(), c))
        .collect();
    if let Some(dir) = shared_captures() {
        out.extend(capture_files(&dir).into_iter().map(|c| (dir.clone(), c)));
    }
    out
}

/// The keys scripts rely on, checked on one event; returns what it proves was seen.
fn check_script_keys(e: &Value, seen: &mut BTreeSet<&'static str>) -> Result<(), String> {
    let get = |k: &str| e.get(k).ok_or(format!("missing {k:?}"));
    let string = |k: &str| {
        get(k)?
            .as_str()
            .map(|_| ())
            .ok_or(format!("{k:?} is not a string"))
    };
    let string_or_null = |k: &str| match get(k)? {
        Value::String(_) | Value::Null => Ok(()),
        other => Err(format!("{k:?} is {other}, not a string or null")),
    };
    match (
        e["proto"].as_str().unwrap_or(""),
        e["kind"].as_str().unwrap_or(""),
    ) {
        ("tls", "handshake") => {
            get("handshake_type")?
                .as_u64()
                .filter(|t| *t <= 255)
                .ok_or("handshake_type is not a number 0..=255")?;
            seen.insert("tls handshake_type");
        }
        ("http", "request") => {
            string("method")?;
            string("target")?;
            let version = get("version")?.as_str().ok_or("version is not a string")?;
            if !version.starts_with("HTTP/") {
                return Err(format!("version {version:?}"));
            }
            seen.insert("http request method/target/version");
        }
        ("http", "response") => {
            get("status")?
                .as_u64()
                .filter(|s| (100..=999).contains(s))
                .ok_or("status is not a 3-digit number")?;
            seen.insert("http response status");
        }
        ("ntlm", kind @ ("negotiate" | "challenge" | "authenticate")) => {
            let t = get("message_type")?
                .as_u64()
                .ok_or("message_type is not a number")?;
            let want = match kind {
                "negotiate" => 1,
                "challenge" => 2,
                _ => 3,
            };
            if t != want {
                return Err(format!("message_type {t} on a {kind}"));
            }
            if t == 2 {
                let c = get("challenge")?
                    .as_str()
                    .ok_or("challenge is not a string")?;
                if c.len() != 16 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("challenge {c:?} is not 8 bytes of hex"));
                }
                seen.insert("ntlm type 2 challenge");
            }
            if t == 3 {
                string_or_null("user")?;
                string_or_null("domain")?;
                string_or_null("workstation")?;
                seen.insert("ntlm type 3 user/domain/workstation");
            }
            seen.insert(match t {
                1 => "ntlm message_type 1",
                2 => "ntlm message_type 2",
                _ => "ntlm message_type 3",
            });
        }
        _ => {}
    }
    Ok(())
}

#[test]
fn real_events_match_the_documented_schema_and_carry_the_keys_scripts_rely_on() {
    let schema = Schema::load();
    let mut problems = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut kinds_seen = BTreeSet::new();
    for (dir, capture) in sources() {
        let name = file_name(&capture);
        let analysis = analyze(&dir, &capture);
        for event in &analysis.collected.events {
            let v = serde_json::to_value(event).expect("serializable");
            // The JSONL line is this value on one line.
            let line = serde_json::to_string(&v).expect("serializable");
            assert!(!line.contains('\n'));
            for p in schema.check(&v) {
                problems.insert(format!("{p} (e.g. {name} frame {})", event.frame));
            }
            if let Err(p) = check_script_keys(&v, &mut seen) {
                problems.insert(format!("{name} frame {}: {p}: {line}", event.frame));
            }
            kinds_seen.insert((v["proto"].to_string(), v["kind"].to_string()));
        }
    }
    let required = [
        "tls handshake_type",
        "http request method/target/version",
        "http response status",
        "ntlm message_type 1",
        "ntlm message_type 2",
        "ntlm message_type 3",
        "ntlm type 2 challenge",
        "ntlm type 3 user/domain/workstation",
    ];
    for r in required {
        if !seen.contains(r) {
            problems.insert(format!("no real event showed {r}"));
        }
    }
    println!("{} kinds of events checked", kinds_seen.len());
    assert!(
        problems.is_empty(),
        "{} problems:\n  {}",
        problems.len(),
        problems.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn schema_tables_are_parsed_by_section() {
    let doc = "# t\n\n## Common keys\n\n| key | type | meaning |\n|---|---|---|\n\
               | `frame` | number | f |\n| `tunnel` | string | t |\n\n\
               ## `tcp` events\n\n### `rst`\n\n| key | type | meaning |\n|---|---|---|\n\
               | `dir` | string | d |\n| `idle_secs` | number | i |\n\n### `syn`\n\nNo other keys.\n\n\
               ## `ntlm` events\n\n### `negotiate`, `challenge`\n\n| key | type | meaning |\n\
               |---|---|---|\n| `user` | string or null | u |\n\n## Nested objects\n\n\
               | `frame` | object | not a key table |\n";
    let s = Schema::parse(doc);
    let ok = serde_json::json!({"frame": 3, "proto": "tcp", "kind": "rst", "dir": "to_client", "idle_secs": 0.5});
    // `tunnel` is not marked optional in this small table: its absence is reported too.
    // proto and kind are not in this small common table
    assert_eq!(
        s.check(&ok),
        vec![
            "tcp/rst: key \"kind\" is not documented".to_string(),
            "tcp/rst: key \"proto\" is not documented".to_string(),
            "tcp/rst: key \"tunnel\" is missing".to_string(),
        ]
    );
    let wrong = serde_json::json!({"frame": "3", "proto": "tcp", "kind": "syn", "tunnel": "a:1"});
    assert_eq!(s.check(&wrong).len(), 3);
    let missing = serde_json::json!({"frame": 1, "tunnel": "a:1", "proto": "tcp", "kind": "rst", "dir": "to_client"});
    assert!(s
        .check(&missing)
        .contains(&"tcp/rst: key \"idle_secs\" is missing".to_string()));
    let unknown = serde_json::json!({"proto": "tcp", "kind": "evicted"});
    assert_eq!(s.check(&unknown), vec!["tcp/evicted is not documented"]);
    for kind in ["negotiate", "challenge"] {
        let user = &s.kinds[&("ntlm".to_string(), kind.to_string())]["user"];
        assert_eq!(
            user.types,
            BTreeSet::from(["string".to_string(), "null".to_string()])
        );
    }
    assert_eq!(
        s.common["frame"].types,
        BTreeSet::from(["number".to_string()])
    );
}
