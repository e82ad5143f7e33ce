//! Rendering: `-o table|wide|json|yaml`, kubectl-style borderless tables, and colour that follows
//! `NO_COLOR`, `CLICOLOR_FORCE` and whether the stream is a terminal.

use serde::Serialize;
use std::fmt::Write as _;

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
}

impl OutputFormat {
    pub fn is_machine(self) -> bool {
        matches!(self, OutputFormat::Json | OutputFormat::Yaml)
    }

    /// Serialize `value` as JSON or YAML (`None` for table formats).
    pub fn serialize<T: Serialize>(self, value: &T) -> Option<String> {
        match self {
            OutputFormat::Json => Some(serde_json::to_string_pretty(value).unwrap_or_default() + "\n"),
            OutputFormat::Yaml => Some(to_yaml(value)),
            _ => None,
        }
    }
}

/// YAML through serde-saphyr (what kube-rs uses).
pub fn to_yaml<T: Serialize>(value: &T) -> String {
    let v = serde_json::to_value(value).unwrap_or_default();
    let mut s = serde_saphyr::to_string(&v).unwrap_or_default();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Colour palette; every style is plain when colour is off.
#[derive(Debug, Clone)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    /// Colour for stdout: on a terminal, unless `NO_COLOR` is set (console handles CLICOLOR*).
    pub fn for_stdout() -> Self {
        Palette {
            enabled: no_color_unset() && console::colors_enabled(),
        }
    }

    pub fn for_stderr() -> Self {
        Palette {
            enabled: no_color_unset() && console::colors_enabled_stderr(),
        }
    }

    pub fn plain() -> Self {
        Palette { enabled: false }
    }

    fn paint(&self, s: &str, style: console::Style) -> String {
        if self.enabled {
            style.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_string()
        }
    }
    pub fn good(&self, s: &str) -> String {
        self.paint(s, console::Style::new().green())
    }
    pub fn warn(&self, s: &str) -> String {
        self.paint(s, console::Style::new().yellow())
    }
    pub fn bad(&self, s: &str) -> String {
        self.paint(s, console::Style::new().red().bold())
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(s, console::Style::new().bold())
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(s, console::Style::new().dim())
    }
    /// Colour a health word.
    pub fn health(&self, h: Health, s: &str) -> String {
        match h {
            Health::Good => self.good(s),
            Health::Warn => self.warn(s),
            Health::Bad => self.bad(s),
            Health::Neutral => s.to_string(),
        }
    }
}

/// `NO_COLOR` set to anything non-empty disables colour (no-color.org).
fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Traffic-light health of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Good,
    Warn,
    Bad,
    Neutral,
}

/// A borderless, left-aligned table like kubectl's (columns separated by three spaces).
#[derive(Debug, Default, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(headers: I) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, cells: I) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Render with `indent` spaces before each line. Width ignores ANSI escapes.
    pub fn render(&self, indent: usize) -> String {
        let cols = self
            .headers
            .len()
            .max(self.rows.iter().map(Vec::len).max().unwrap_or(0));
        let mut widths = vec![0usize; cols];
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(console::measure_text_width(c));
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            if r.is_empty() {
                continue;
            }
            let mut line = " ".repeat(indent);
            for (i, c) in r.iter().enumerate() {
                line.push_str(c);
                if i + 1 < r.len() {
                    let pad = widths[i] - console::measure_text_width(c) + 3;
                    line.push_str(&" ".repeat(pad));
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// Render `key: value` lines with keys padded to one width (cnpg-status style).
pub fn key_values(pairs: &[(String, String)], indent: usize) -> String {
    let w = pairs
        .iter()
        .map(|(k, _)| console::measure_text_width(k))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let _ = writeln!(
            out,
            "{}{}:{} {}",
            " ".repeat(indent),
            k,
            " ".repeat(w - console::measure_text_width(k)),
            v
        );
    }
    out
}

/// First line of a Java stack trace (or any multi-line text), trimmed.
pub fn first_line(trace: &str) -> String {
    trace.lines().next().unwrap_or_default().trim().to_string()
}

/// Age the kubectl way: `45s`, `12m`, `3h`, `5d`.
pub fn age(since_rfc3339: &str, now: std::time::SystemTime) -> Option<String> {
    let then = parse_rfc3339(since_rfc3339)?;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let secs = (now - then).max(0);
    Some(match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    })
}

/// Seconds since the epoch of an RFC 3339 time (`2026-03-01T10:00:00Z`, `...00.000Z`,
/// `+02:00`), through jiff (already in the tree with k8s-openapi): no calendar arithmetic of ours.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    s.parse::<k8s_openapi::jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_ignores_ansi() {
        let mut t = Table::new(["NAME", "STATE"]);
        t.row(["a", "\u{1b}[32mRUNNING\u{1b}[0m"]);
        t.row(["longer-name", "PAUSED"]);
        let out = t.render(0);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME          STATE");
        assert_eq!(lines[2], "longer-name   PAUSED");
        assert!(lines[1].starts_with("a             "));
    }

    #[test]
    fn output_formats_serialize() {
        let v = serde_json::json!({"a": 1, "b": ["x"]});
        assert_eq!(
            OutputFormat::Json.serialize(&v).unwrap(),
            "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}\n"
        );
        let y = OutputFormat::Yaml.serialize(&v).unwrap();
        assert!(y.contains("a: 1") && y.contains("- x"), "{y}");
        assert!(OutputFormat::Table.serialize(&v).is_none());
    }

    #[test]
    fn palette_is_plain_when_disabled() {
        let p = Palette::plain();
        assert_eq!(p.bad("FAILED"), "FAILED");
        let p = Palette { enabled: true };
        assert!(p.bad("FAILED").contains("\u{1b}["));
    }

    #[test]
    fn rfc3339_and_age() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-03-01T10:00:00.000Z"), Some(1_772_359_200));
        assert_eq!(parse_rfc3339("2026-03-01T11:00:00+01:00"), Some(1_772_359_200));
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_772_359_200 + 3 * 3600);
        assert_eq!(age("2026-03-01T10:00:00Z", now).as_deref(), Some("3h"));
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
