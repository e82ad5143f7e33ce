//! What keeps Secrets out of the archive: pure functions over text and JSON, no I/O.
//!
//! Three rules, applied to every byte that enters the archive:
//! 1. every value of every Secret of the namespaces collected (decoded, its base64 form and its
//!    JSON-escaped form) becomes `<redacted>` wherever it occurs, overlapping matches included;
//! 2. what looks like a SASL/JAAS password becomes `<redacted>` even when no Secret could be read
//!    (a read-only user): `password="…"` (any `…password=` option, quoted or not, also inside
//!    escaped JSON) and the value of `sasl.jaas.config`;
//! 3. ANSI escape sequences and control characters are removed, so the archive can be `cat` to a
//!    terminal safely.
//!
//! Rules 1 and 2 run before and after rule 3: before, so that stripping an escape sequence can
//! never eat part of a secret and leave the rest; after, so that a secret split by an escape
//! sequence is caught once the sequence is gone.

use crate::clusterset::secret::base64_engine;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Captures, Regex};
use serde_json::Value;
use std::sync::LazyLock;

/// What every redacted value becomes.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not searched for: a Secret key such as `user: admin` or a flag
/// `enabled: true` would otherwise blank every occurrence of a common word. Six characters is
/// below any password policy worth the name.
pub const MIN_SECRET_LEN: usize = 6;

/// `…password=` followed by a quote (possibly escaped, as inside a JSON string): the value runs
/// to the closing quote.
static QUOTED_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)([a-z0-9_.-]*password\s*=\s*\\*["'])((?:[^"'\\]|\\[^"'])*)"#).expect("valid regex")
});

/// `…password=value` without quotes: the value runs to whitespace, `;`, `,` or a quote.
static BARE_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)([a-z0-9_.-]*password\s*=\s*)([^\s"'\\;,]+)"#).expect("valid regex"));

/// The value of a `sasl.jaas.config` key in properties (`=`), YAML (`:`) or JSON (`"…":`), also
/// escaped inside a JSON string: a quoted value to its closing quote, a bare one to end of line.
static JAAS_CONFIG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(sasl\.jaas\.config(?:\\*["'])?\s*[=:]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|\\+"(?:[^"\\]|\\[^"])*\\+"|[^\r\n"'\\\s][^\r\n]*)"#,
    )
    .expect("valid regex")
});

/// Keys whose whole value is a credential in a JSON document, whatever it looks like.
fn is_credential_key(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("sasl.jaas.config")
}

/// Redacts one Secret-derived set of values plus the JAAS patterns. Built once per report from
/// every Secret value read; cheap to apply to many files.
#[derive(Debug, Clone)]
pub struct Redactor {
    needles: Option<AhoCorasick>,
    /// How many distinct strings are searched for (for the index, never the strings).
    pub needle_count: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(Vec::<Vec<u8>>::new())
    }
}

impl Redactor {
    /// Search for every value (and its base64 and JSON-escaped forms, and each long line of a
    /// multi-line value such as a PEM block or a properties file).
    pub fn new<I, V>(values: I) -> Redactor
    where
        I: IntoIterator<Item = V>,
        V: AsRef<[u8]>,
    {
        let mut needles: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            if s.chars().count() >= MIN_SECRET_LEN && !needles.iter().any(|n| n == s) {
                needles.push(s.to_string());
            }
        };
        for v in values {
            let v = v.as_ref();
            if v.trim_ascii().len() < MIN_SECRET_LEN {
                continue;
            }
            add(&base64_engine::encode(v));
            let Ok(text) = std::str::from_utf8(v) else {
                continue;
            };
            add(text);
            add(text.trim());
            if let Ok(json) = serde_json::to_string(text) {
                add(&json[1..json.len() - 1]);
            }
            for line in text.lines() {
                let line = line.trim();
                // PEM armour lines are public boilerplate, not secret.
                if !line.starts_with("-----") {
                    add(line);
                }
            }
        }
        let needle_count = needles.len();
        let needles = if needles.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&needles)
                .ok()
        };
        Redactor {
            needles,
            needle_count,
        }
    }

    /// Redact and strip one text (a log, a scrape, a rendered document).
    pub fn clean(&self, text: &str) -> String {
        let once = self.redact(text);
        let stripped = strip_control(&once);
        self.redact(&stripped)
    }

    /// Rules 1 and 2 (no stripping).
    pub fn redact(&self, text: &str) -> String {
        redact_jaas(&self.redact_values(text))
    }

    /// Rule 1: every occurrence of every needle, overlapping ones merged into one `<redacted>`.
    pub fn redact_values(&self, text: &str) -> String {
        let Some(ac) = &self.needles else {
            return text.to_string();
        };
        // Byte ranges covered by any match, merged; matches end on char boundaries because the
        // needles are valid UTF-8 and so is the haystack.
        let mut spans: Vec<(usize, usize)> = ac
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in merged {
            out.push_str(&text[at..s]);
            out.push_str(REDACTED);
            at = e;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Every string (and key) of a JSON document cleaned; `sasl.jaas.config` values blanked.
    pub fn clean_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.clean(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.clean_json(v)),
            Value::Object(map) => {
                let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                for (k, mut v) in entries {
                    if is_credential_key(&k) && v.is_string() {
                        v = Value::String(REDACTED.into());
                    } else {
                        self.clean_json(&mut v);
                    }
                    map.insert(self.clean(&k), v);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Rule 2: JAAS and properties passwords, and `sasl.jaas.config` values. The quotes around a
/// value are kept, so the redacted text still parses the way the original did.
pub fn redact_jaas(text: &str) -> String {
    // Cheap exit: nearly every line of a log has neither word.
    let lower_has = |needle: &str| {
        text.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    let has_password = lower_has("password");
    let has_jaas = lower_has("sasl.jaas.config");
    if !has_password && !has_jaas {
        return text.to_string();
    }
    let mut out = text.to_string();
    if has_jaas {
        out = JAAS_CONFIG
            .replace_all(&out, |c: &Captures<'_>| format!("{}{}", &c[1], requote(&c[2])))
            .into_owned();
    }
    out = QUOTED_PASSWORD
        .replace_all(&out, |c: &Captures<'_>| format!("{}{REDACTED}", &c[1]))
        .into_owned();
    BARE_PASSWORD
        .replace_all(&out, |c: &Captures<'_>| format!("{}{REDACTED}", &c[1]))
        .into_owned()
}

/// `"x"` → `"<redacted>"`, `\"x\"` → `\"<redacted>\"`, `x` → `<redacted>`.
fn requote(value: &str) -> String {
    let open_len = value
        .char_indices()
        .find(|(_, c)| *c != '\\')
        .map(|(i, c)| if c == '"' || c == '\'' { i + 1 } else { 0 })
        .unwrap_or(0);
    if open_len == 0 {
        return REDACTED.to_string();
    }
    let open = &value[..open_len];
    format!("{open}{REDACTED}{open}")
}

/// Rule 3: remove ANSI escape sequences (CSI, OSC, two-byte escapes) and every control character
/// except newline and tab; a carriage return is dropped (so `\r\n` becomes `\n`).
pub fn strip_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    chars.next();
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                        if !(' '..='?').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC (hyperlinks, titles): up to BEL or ESC \.
                Some(']') => {
                    chars.next();
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                // Two-byte escapes (ESC 7, ESC M …): drop the byte after ESC when it is one of
                // the escape finals, else just the ESC.
                // Character-set designations take one more byte (ESC ( B).
                Some('(' | ')' | '*' | '+') => {
                    chars.next();
                    chars.next();
                }
                Some(&n) if ('0'..='~').contains(&n) => {
                    chars.next();
                }
                _ => {}
            },
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Does the text still hold an escape or a control character other than newline and tab?
pub fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JAAS: &str = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"mm2-user\" password=\"Zq8sV3kL0pW2\";";

    fn no_leak(out: &str, secret: &str) {
        assert!(!out.contains(secret), "leaked {secret:?} in {out:?}");
    }

    #[test]
    fn jaas_in_a_properties_file_is_redacted_to_end_of_line() {
        let text =
            format!("bootstrap.servers=kafka:9092\nsasl.jaas.config={JAAS}\nsasl.mechanism=SCRAM-SHA-512\n");
        let out = redact_jaas(&text);
        no_leak(&out, "Zq8sV3kL0pW2");
        assert_eq!(
            out,
            "bootstrap.servers=kafka:9092\nsasl.jaas.config=<redacted>\nsasl.mechanism=SCRAM-SHA-512\n"
        );
    }

    #[test]
    fn jaas_as_a_json_value_keeps_the_document_valid() {
        let doc = serde_json::json!({"sasl.jaas.config": JAAS, "other": "x"}).to_string();
        let out = redact_jaas(&doc);
        no_leak(&out, "Zq8sV3kL0pW2");
        let parsed: Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(parsed["sasl.jaas.config"], REDACTED);
        assert_eq!(parsed["other"], "x");
    }

    #[test]
    fn jaas_as_a_yaml_value_is_redacted() {
        let out = redact_jaas(&format!("config:\n  sasl.jaas.config: '{JAAS}'\n  a: b\n"));
        no_leak(&out, "Zq8sV3kL0pW2");
        assert!(out.contains("sasl.jaas.config: '<redacted>'\n  a: b"), "{out}");
    }

    #[test]
    fn jaas_inside_an_escaped_json_string_is_redacted() {
        // A last-applied-configuration annotation: JSON inside a JSON string.
        let inner = serde_json::json!({"data": {"sasl.jaas.config": JAAS}}).to_string();
        let outer = serde_json::json!({"annotation": inner}).to_string();
        let out = redact_jaas(&outer);
        no_leak(&out, "Zq8sV3kL0pW2");
        serde_json::from_str::<Value>(&out).expect("still JSON");
    }

    #[test]
    fn password_options_quoted_single_quoted_bare_and_with_spaces() {
        for (text, secret) in [
            (
                "PlainLoginModule required username=\"a\" password=\"p@ss w0rd\";",
                "p@ss w0rd",
            ),
            (
                "ScramLoginModule required username='a' password='s1ngleQ';",
                "s1ngleQ",
            ),
            ("ssl.truststore.password=changeit\n", "changeit"),
            ("ssl.keystore.password = hunter22 ", "hunter22"),
            ("connecting with PASSWORD=\"UpperCase1\"", "UpperCase1"),
        ] {
            no_leak(&redact_jaas(text), secret);
        }
        assert_eq!(
            redact_jaas("username=\"a\" password=\"x\";"),
            "username=\"a\" password=\"<redacted>\";"
        );
    }

    #[test]
    fn references_to_a_password_key_are_not_values() {
        // The MM2 spec names the Secret key that holds the password; that is no secret.
        let yaml = "passwordSecret:\n  secretName: mm2-user\n  password: password\n";
        assert_eq!(redact_jaas(yaml), yaml);
    }

    #[test]
    fn redaction_is_idempotent() {
        let r = Redactor::new(["Zq8sV3kL0pW2"]);
        let once = r.clean(&format!(
            "sasl.jaas.config={JAAS}\npw Zq8sV3kL0pW2 password=abc\n"
        ));
        assert_eq!(r.clean(&once), once);
    }

    #[test]
    fn secret_values_in_plain_base64_and_escaped_forms() {
        let r = Redactor::new([b"Zq8sV3kL0pW2".to_vec(), JAAS.as_bytes().to_vec()]);
        let b64 = base64_engine::encode(b"Zq8sV3kL0pW2");
        let out = r.clean(&format!(
            "a Zq8sV3kL0pW2 b {b64} c {}",
            serde_json::to_string(JAAS).unwrap()
        ));
        no_leak(&out, "Zq8sV3kL0pW2");
        no_leak(&out, &b64);
        assert!(out.starts_with("a <redacted> b <redacted> c "), "{out}");
    }

    #[test]
    fn overlapping_secrets_become_one_redaction() {
        let r = Redactor::new(["abcdef12", "ef123456"]);
        assert_eq!(r.redact_values("x abcdef123456 y"), "x <redacted> y");
    }

    #[test]
    fn short_values_are_not_searched() {
        let r = Redactor::new(["true", "admin"]);
        assert_eq!(r.clean("admin says true"), "admin says true");
        assert_eq!(r.needle_count, 0);
    }

    #[test]
    fn json_walk_blanks_jaas_keys_and_cleans_every_string() {
        let r = Redactor::new(["Zq8sV3kL0pW2"]);
        let mut doc = serde_json::json!({
            "spec": {"config": {"sasl.jaas.config": "anything at all"},
                     "args": ["--pw", "Zq8sV3kL0pW2", "\u{1b}[31mred\u{1b}[0m"]},
            "Zq8sV3kL0pW2": 1
        });
        r.clean_json(&mut doc);
        let text = doc.to_string();
        no_leak(&text, "Zq8sV3kL0pW2");
        assert_eq!(doc["spec"]["config"]["sasl.jaas.config"], REDACTED);
        assert_eq!(doc["spec"]["args"][2], "red");
        assert!(!text.contains("anything at all"));
    }

    #[test]
    fn ansi_sequences_and_controls_are_removed() {
        let text = "\u{1b}[1;31mERROR\u{1b}[0m a\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\ b\r\n\u{8}c\u{9b}\td\u{1b}(B";
        let out = strip_control(text);
        assert_eq!(out, "ERROR alink b\nc\td");
        assert!(!has_control(&out));
    }

    #[test]
    fn a_secret_split_by_an_escape_sequence_is_still_caught() {
        let r = Redactor::new(["Zq8sV3kL0pW2"]);
        let out = r.clean("pw Zq8sV3\u{1b}[0mkL0pW2 end");
        assert_eq!(out, "pw <redacted> end");
    }

    fn secret() -> impl Strategy<Value = String> {
        "[A-Za-z0-9+/=_.!@#%^*-]{6,40}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics(text in any::<String>(), values in proptest::collection::vec(any::<Vec<u8>>(), 0..4)) {
            let r = Redactor::new(values);
            let out = r.clean(&text);
            prop_assert!(!has_control(&out));
        }

        #[test]
        fn a_planted_secret_never_survives(
            before in any::<String>(),
            after in any::<String>(),
            s in secret(),
            other in secret(),
            base64 in any::<bool>(),
        ) {
            let r = Redactor::new([s.as_bytes(), other.as_bytes()]);
            let planted = if base64 { base64_engine::encode(s.as_bytes()) } else { s.clone() };
            let out = r.clean(&format!("{before}{planted}{after}"));
            prop_assert!(!out.contains(&s), "secret survived: {:?}", out);
            prop_assert!(!out.contains(&base64_engine::encode(s.as_bytes())), "base64 survived: {:?}", out);
            prop_assert!(!has_control(&out));
        }

        #[test]
        fn a_secret_inside_json_never_survives(s in secret(), key in "[a-z.]{1,12}", text in any::<String>()) {
            let r = Redactor::new([s.as_bytes()]);
            let mut doc = serde_json::json!({key: format!("{text}{s}{text}"), "list": [s.clone()]});
            r.clean_json(&mut doc);
            let rendered = doc.to_string();
            prop_assert!(!rendered.contains(&s));
            prop_assert!(!crate::output::to_yaml(&doc).contains(&s));
        }

        #[test]
        fn a_jaas_password_never_survives_without_knowing_it(
            before in "[^\\x00]{0,40}",
            pw in "[A-Za-z0-9!@#%^*()_+=.-]{1,30}",
            quote in prop::sample::select(vec!["\"", "'"]),
        ) {
            let line = format!("{before} org.apache.kafka.common.security.plain.PlainLoginModule required username={quote}u{quote} password={quote}{pw}{quote};");
            let out = Redactor::default().clean(&line);
            let leaked = format!("password={quote}{pw}{quote}");
            prop_assert!(!out.contains(&leaked), "{:?}", out);
        }
    }
}
