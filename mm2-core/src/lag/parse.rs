//! A small Prometheus text-format parser tuned to what `jmx_prometheus_javaagent` writes.
//!
//! Why not `prometheus-parse`: it cuts label values at commas, keeps `\"` escaped, and turns a space
//! after a comma into part of the label name (research/kube-rs.md §8). JMX exporter output has all of
//! these (quoted client ids, `, ` separators, trailing commas), so we parse it ourselves.
//!
//! The parser borrows names and label values from the input; only label values that contain escapes
//! are copied. It never panics: every byte access is bounds-checked and a line it cannot read is
//! skipped and counted.

use std::borrow::Cow;

/// One label: name borrowed from the input, value borrowed unless it had to be unescaped.
pub type Label<'a> = (&'a str, Cow<'a, str>);

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    /// Milliseconds since the epoch, when the line carries one (JMX exporter normally does not).
    pub timestamp_ms: Option<i64>,
}

impl Sample<'_> {
    /// Value of the first label called `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        label(&self.labels, key)
    }
}

/// Value of the first label called `key` in `labels`.
pub fn label<'s>(labels: &'s [Label<'_>], key: &str) -> Option<&'s str> {
    labels.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_ref())
}

/// A parsed exposition: the samples, and how many non-blank, non-comment lines could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape<'a> {
    pub samples: Vec<Sample<'a>>,
    pub skipped: usize,
}

/// Parses a whole exposition. Garbage lines are skipped and counted in [`Scrape::skipped`].
pub fn parse(text: &str) -> Scrape<'_> {
    // Reserving one slot per line avoids the doubling growth of the sample vector, which would
    // otherwise dominate peak memory on large scrapes.
    let mut samples = Vec::with_capacity(count_lines(text));
    let mut skipped = 0;
    let mut previous_name = "";
    for line in text.lines() {
        let mut labels = Vec::new();
        match parse_line(line, &mut labels, &mut previous_name) {
            Line::Sample {
                name,
                value,
                timestamp_ms,
            } => samples.push(Sample {
                name,
                labels,
                value,
                timestamp_ms,
            }),
            Line::Ignored => {}
            Line::Garbage => skipped += 1,
        }
    }
    Scrape { samples, skipped }
}

/// Streams samples to `f` without collecting them, reusing one label buffer for every line.
/// Returns the number of garbage lines. This is what aggregation uses: it keeps peak memory
/// independent of the scrape size.
pub fn for_each_sample<'a, F>(text: &'a str, mut f: F) -> usize
where
    F: FnMut(&'a str, &[Label<'a>], f64),
{
    let mut labels = Vec::with_capacity(8);
    let mut skipped = 0;
    let mut previous_name = "";
    for line in text.lines() {
        labels.clear();
        match parse_line(line, &mut labels, &mut previous_name) {
            Line::Sample { name, value, .. } => f(name, &labels, value),
            Line::Ignored => {}
            Line::Garbage => skipped += 1,
        }
    }
    skipped
}

fn count_lines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count() + 1
}

/// What one line turned out to be.
enum Line<'a> {
    Sample {
        name: &'a str,
        value: f64,
        timestamp_ms: Option<i64>,
    },
    /// Blank line or comment (`# HELP`, `# TYPE`, `# EOF`, anything after `#`).
    Ignored,
    Garbage,
}

/// Parses one line; labels are appended to `labels`. `previous_name` is the metric name of the last
/// sample line: exporters write a family's samples together, so the name usually repeats and can be
/// recognised with one memcmp instead of a byte-by-byte scan.
fn parse_line<'a>(line: &'a str, labels: &mut Vec<Label<'a>>, previous_name: &mut &'a str) -> Line<'a> {
    let mut cur = Cursor::new(line);
    cur.skip_ws();
    match cur.peek() {
        None => return Line::Ignored,
        Some(b'#') => return Line::Ignored,
        _ => {}
    }
    match sample_line(&mut cur, labels, previous_name) {
        Some((name, value, timestamp_ms)) => {
            *previous_name = name;
            Line::Sample {
                name,
                value,
                timestamp_ms,
            }
        }
        None => Line::Garbage,
    }
}

fn sample_line<'a>(
    cur: &mut Cursor<'a>,
    labels: &mut Vec<Label<'a>>,
    previous_name: &str,
) -> Option<(&'a str, f64, Option<i64>)> {
    let name = cur.metric_name(previous_name)?;
    let mut separated = cur.skip_ws();
    if cur.eat(b'{') {
        cur.label_set(labels)?;
        // Like the Go parser, accept a value glued to the closing brace.
        separated = true;
        cur.skip_ws();
    }
    if !separated {
        return None;
    }
    let value = parse_value(cur.token())?;
    cur.skip_ws();
    let timestamp_ms = if cur.at_end() {
        None
    } else {
        Some(cur.token().parse::<i64>().ok()?)
    };
    cur.skip_ws();
    cur.at_end().then_some((name, value, timestamp_ms))
}

/// Prometheus values: Go float syntax plus `NaN`, `+Inf`, `-Inf`. Rust's float parser accepts those
/// spellings case-insensitively and Java's `1.2345678E7` as well.
fn parse_value(token: &str) -> Option<f64> {
    if token.is_empty() {
        return None;
    }
    token.parse::<f64>().ok()
}

/// Byte classes for [`Cursor::take_class`], built at compile time.
const fn class(kind: u8) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let word = b.is_ascii_alphanumeric() || b == b'_';
        table[i] = match kind {
            b'm' => word || b == b':',
            b'l' => word,
            _ => b != b' ' && b != b'\t',
        };
        i += 1;
    }
    table
}

static METRIC_NAME: [bool; 256] = class(b'm');
static LABEL_NAME: [bool; 256] = class(b'l');
static TOKEN: [bool; 256] = class(b't');

/// A byte cursor over one line. It only ever stops on ASCII bytes, so every slice it takes lies on a
/// char boundary; `get` is still used so that a mistake would yield garbage rather than a panic.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.s.get(start..end).unwrap_or("")
    }

    /// Skips spaces and tabs; tells whether it skipped any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Advances over bytes of `class` (a 256-entry table: one load per byte, no branches on ranges).
    fn take_class(&mut self, class: &[bool; 256]) -> &'a str {
        let start = self.pos;
        let rest = self.bytes().get(start..).unwrap_or_default();
        self.pos += rest
            .iter()
            .position(|&b| !class[usize::from(b)])
            .unwrap_or(rest.len());
        self.slice(start, self.pos)
    }

    /// A whitespace-delimited token (value or timestamp).
    fn token(&mut self) -> &'a str {
        self.take_class(&TOKEN)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`. `known` is a name already validated on an earlier line; when the
    /// input repeats it, followed by a non-name byte, the scan is skipped.
    fn metric_name(&mut self, known: &str) -> Option<&'a str> {
        let start = self.pos;
        let end = start + known.len();
        let repeated = !known.is_empty()
            && self.bytes().get(start..end) == Some(known.as_bytes())
            && !self
                .bytes()
                .get(end)
                .is_some_and(|&b| METRIC_NAME[usize::from(b)]);
        if repeated {
            self.pos = end;
            return Some(self.slice(start, end));
        }
        if !self
            .peek()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        {
            return None;
        }
        Some(self.take_class(&METRIC_NAME))
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    fn label_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
            return None;
        }
        Some(self.take_class(&LABEL_NAME))
    }

    /// After `{`: `name="value"` pairs separated by commas, with optional spaces and the trailing
    /// comma that JMX exporter writes, up to and including `}`.
    fn label_set(&mut self, labels: &mut Vec<Label<'a>>) -> Option<()> {
        self.skip_ws();
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let name = self.label_name()?;
            self.skip_ws();
            if !self.eat(b'=') {
                return None;
            }
            self.skip_ws();
            if !self.eat(b'"') {
                return None;
            }
            let value = self.label_value()?;
            labels.push((name, value));
            self.skip_ws();
            if self.eat(b',') {
                self.skip_ws();
                if self.eat(b'}') {
                    return Some(());
                }
            } else if self.eat(b'}') {
                return Some(());
            } else {
                return None;
            }
        }
    }

    /// After the opening quote, up to and including the closing quote. Borrowed unless it holds an
    /// escape; commas and other punctuation are ordinary characters here.
    fn label_value(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        let rest = self.bytes().get(start..)?;
        let stop = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
        if rest.get(stop) == Some(&b'\\') {
            return self.escaped_value(start).map(Cow::Owned);
        }
        self.pos = start + stop + 1;
        Some(Cow::Borrowed(self.slice(start, start + stop)))
    }

    /// Slow path for values with escapes: `\\`, `\"` and `\n` are decoded; any other backslash is
    /// kept literally (the Go parser would reject the line, but a lenient reading loses nothing).
    fn escaped_value(&mut self, start: usize) -> Option<String> {
        let bytes = self.bytes();
        let mut out = String::new();
        let mut run = start;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'"' => {
                    out.push_str(self.slice(run, i));
                    self.pos = i + 1;
                    return Some(out);
                }
                b'\\' => {
                    out.push_str(self.slice(run, i));
                    match bytes.get(i + 1) {
                        Some(b'\\') => out.push('\\'),
                        Some(b'"') => out.push('"'),
                        Some(b'n') => out.push('\n'),
                        Some(_) => {
                            // Unknown escape: keep the backslash, reread the next byte normally.
                            out.push('\\');
                            i += 1;
                            run = i;
                            continue;
                        }
                        None => return None,
                    }
                    i += 2;
                    run = i;
                }
                _ => i += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(line: &str) -> Sample<'_> {
        let scrape = parse(line);
        assert_eq!(scrape.skipped, 0, "line was skipped: {line:?}");
        assert_eq!(scrape.samples.len(), 1, "{line:?}");
        scrape
            .samples
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn plain_sample_without_labels() {
        let s = one("kafka_connect_worker_connector_count 3.0");
        assert_eq!(s.name, "kafka_connect_worker_connector_count");
        assert!(s.labels.is_empty());
        assert_eq!(s.value, 3.0);
        assert_eq!(s.timestamp_ms, None);
    }

    #[test]
    fn trailing_comma_and_any_label_order() {
        let s = one(r#"m{topic="orders",partition="0",clientid="x",} 17.0"#);
        assert_eq!(s.label("topic"), Some("orders"));
        assert_eq!(s.label("partition"), Some("0"));
        assert_eq!(s.label("clientid"), Some("x"));
        assert_eq!(s.labels.len(), 3);
    }

    #[test]
    fn spaces_after_commas_and_around_equals() {
        let s = one(r#"m{ a = "1" , b="2",   c="3" , } 1"#);
        assert_eq!(s.label("a"), Some("1"));
        assert_eq!(s.label("b"), Some("2"));
        assert_eq!(s.label("c"), Some("3"));
    }

    #[test]
    fn java_number_formats() {
        assert_eq!(one("m 1.2345678E7").value, 12_345_678.0);
        assert_eq!(one("m 4.2E-3").value, 0.0042);
        assert_eq!(one("m -1.0").value, -1.0);
        assert!(one("m NaN").value.is_nan());
        assert_eq!(one("m +Inf").value, f64::INFINITY);
        assert_eq!(one("m -Inf").value, f64::NEG_INFINITY);
    }

    #[test]
    fn escapes_are_decoded_and_only_then_owned() {
        let s = one(r#"m{clientid="\"a->b|c|replication-consumer\"",p="x\\y",n="l1\nl2",plain="v"} 1"#);
        assert_eq!(s.label("clientid"), Some("\"a->b|c|replication-consumer\""));
        assert_eq!(s.label("p"), Some("x\\y"));
        assert_eq!(s.label("n"), Some("l1\nl2"));
        assert!(matches!(s.labels[3].1, Cow::Borrowed("v")));
        assert!(matches!(s.labels[0].1, Cow::Owned(_)));
    }

    #[test]
    fn unknown_escape_is_kept_literally() {
        assert_eq!(one(r#"m{a="x\ty"} 1"#).label("a"), Some("x\\ty"));
    }

    #[test]
    fn commas_and_braces_inside_values() {
        let s = one(r#"m{target="aws, group=billing, topic=proxmox.orders, partition=0",x="}{"} 5"#);
        assert_eq!(
            s.label("target"),
            Some("aws, group=billing, topic=proxmox.orders, partition=0")
        );
        assert_eq!(s.label("x"), Some("}{"));
    }

    #[test]
    fn timestamps_are_optional() {
        let s = one("m{a=\"1\"} 2.5 1700000000000");
        assert_eq!(s.value, 2.5);
        assert_eq!(s.timestamp_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let text = "# HELP m help text\r\n# TYPE m gauge\r\n\r\n   \nm{a=\"1\"} 1.0\r\n# EOF\n";
        let scrape = parse(text);
        assert_eq!(scrape.skipped, 0);
        assert_eq!(scrape.samples.len(), 1);
        assert_eq!(scrape.samples[0].value, 1.0);
    }

    #[test]
    fn garbage_is_skipped_and_counted() {
        let text = "ok 1\n\
                    no_value\n\
                    bad{a=1} 2\n\
                    unterminated{a=\"x} 3\n\
                    trailing 1 2 3\n\
                    bad_ts 1 abc\n\
                    {a=\"1\"} 4\n\
                    1abc 5\n\
                    two{a=\"1\"b=\"2\"} 6\n\
                    glued{a=\"1\"}7\n\
                    ok2{} 8\n";
        let scrape = parse(text);
        let names: Vec<_> = scrape.samples.iter().map(|s| s.name).collect();
        assert_eq!(names, ["ok", "glued", "ok2"]);
        assert_eq!(scrape.skipped, 8);
    }

    #[test]
    fn repeated_name_shortcut_respects_name_boundaries() {
        let scrape = parse("abc 1\nabcd 2\nabc{a=\"1\"} 3\nabc:x 4\nab 5\nabc\n");
        let names: Vec<_> = scrape.samples.iter().map(|s| s.name).collect();
        assert_eq!(names, ["abc", "abcd", "abc", "abc:x", "ab"]);
        assert_eq!(scrape.skipped, 1);
    }

    #[test]
    fn non_ascii_label_values_survive() {
        assert_eq!(one("m{t=\"zürich→ø\"} 1").label("t"), Some("zürich→ø"));
        assert_eq!(one("m{t=\"ü\\\"ø\"} 1").label("t"), Some("ü\"ø"));
    }

    #[test]
    fn streaming_matches_collecting() {
        let text = "# TYPE m gauge\nm{a=\"1\",} 1\nbad\nn{b=\"x\\\"y\"} 2 17\n";
        let mut seen = Vec::new();
        let skipped = for_each_sample(text, |name, labels, value| {
            seen.push((name.to_owned(), labels.to_vec(), value));
        });
        let scrape = parse(text);
        assert_eq!(skipped, scrape.skipped);
        let collected: Vec<_> = scrape
            .samples
            .iter()
            .map(|s| (s.name.to_owned(), s.labels.clone(), s.value))
            .collect();
        assert_eq!(seen, collected);
    }

    /// Building blocks of exposition lines, so random inputs reach the deep parser states instead of
    /// failing at the first byte.
    fn prom_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("m".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("a=\"".to_owned()),
            Just("\"".to_owned()),
            Just(",".to_owned()),
            Just(" ".to_owned()),
            Just("\\".to_owned()),
            Just("\n".to_owned()),
            Just("#".to_owned()),
            Just("1.5E7".to_owned()),
            Just("NaN".to_owned()),
            Just("+Inf".to_owned()),
            Just("ü".to_owned()),
            "[ -~]{0,3}",
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100_000))]

        #[test]
        fn parser_never_panics(input in prop_oneof![prom_like(), any::<String>()]) {
            let scrape = parse(&input);
            let lines = input.lines().count();
            prop_assert!(scrape.samples.len() + scrape.skipped <= lines);
            let mut streamed = 0;
            let skipped = for_each_sample(&input, |_, _, _| streamed += 1);
            prop_assert_eq!(streamed, scrape.samples.len());
            prop_assert_eq!(skipped, scrape.skipped);
        }
    }
}
