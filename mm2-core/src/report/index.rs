//! README.txt: the index a person opens first. Pure rendering of the outcome; golden-tested
//! against `testdata/README.golden.txt`.

use super::{ReportOutcome, plan};
use crate::output::Table;
use std::fmt::Write as _;

/// The index's name inside the archive.
pub const INDEX_FILE: &str = "README.txt";

/// What a file holds, from its name.
fn describe(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path == INDEX_FILE {
        return "this index".into();
    }
    if path == "status.json" {
        return "`kubectl mm2 status -o json --live` (schema kubectl-mm2.dev/status/v1)".into();
    }
    if path == "lag.json" {
        return "`kubectl mm2 lag -o json` (schema kubectl-mm2.dev/lag/v1)".into();
    }
    if let Some(stem) = name.strip_suffix(".error.txt") {
        return format!("the error that kept {stem} from being collected");
    }
    if let Some((_, what)) = plan::NAMESPACED_LISTS
        .iter()
        .find(|(stem, _)| name.strip_suffix(".yaml") == Some(*stem))
    {
        return (*what).to_string();
    }
    match name {
        "version.json" => "the API server's /version".into(),
        "metrics.txt" => "one /metrics scrape of the JMX exporter (port 9404, through the pod proxy)".into(),
        "connectors.json" => {
            "Kafka Connect's GET /connectors?expand=status (port 8083, through the pod proxy)".into()
        }
        n if n.ends_with(".log") => format!("last lines of container {}", n.trim_end_matches(".log")),
        _ => String::new(),
    }
}

/// The whole README.txt.
pub fn render(o: &ReportOutcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "kubectl mm2 report");
    let _ = writeln!(s, "==================");
    let _ = writeln!(s);
    let directions = if o.directions.is_empty() {
        "none found".to_string()
    } else {
        o.directions.join(", ")
    };
    let logs = match o.logs_tail {
        Some(n) => format!("last {n} lines per worker container"),
        None => "not collected (pass --logs)".into(),
    };
    let complete = if o.complete {
        "yes".to_string()
    } else {
        format!(
            "no: {} part(s) could not be collected (listed below)",
            o.missing.len()
        )
    };
    let facts = [
        ("Created", o.created.clone()),
        ("Plugin", format!("kubectl-mm2 {}", o.plugin_version)),
        ("Schema", o.schema.to_string()),
        ("Directions", directions),
        ("Events since", o.since.clone()),
        ("Pod logs", logs),
        ("Complete", complete),
    ];
    let pairs: Vec<(String, String)> = facts.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    s.push_str(&crate::output::key_values(&pairs, 0));

    let _ = writeln!(s, "\nContexts");
    let mut t = Table::new(["CONTEXT", "ALIAS", "SERVER", "VERSION", "NAMESPACES"]);
    for c in &o.contexts {
        t.row([
            c.context.clone(),
            c.alias.clone().unwrap_or_else(|| "-".into()),
            c.server.clone().unwrap_or_else(|| "-".into()),
            c.server_version.clone().unwrap_or_else(|| "unreachable".into()),
            if c.namespaces.is_empty() {
                "-".into()
            } else {
                c.namespaces.join(",")
            },
        ]);
    }
    s.push_str(&t.render(2));

    let _ = writeln!(s, "\nCould not be collected");
    if o.missing.is_empty() {
        let _ = writeln!(s, "  nothing: every part was collected");
    }
    for m in &o.missing {
        let _ = writeln!(
            s,
            "  - [{}] {} ({})\n      {}",
            m.context.as_deref().unwrap_or("-"),
            m.part,
            m.kind,
            m.reason
        );
    }

    let _ = writeln!(s, "\nNotes");
    for n in &o.notes {
        let _ = writeln!(s, "  - {n}");
    }

    let _ = writeln!(s, "\nSecrets");
    let _ = writeln!(
        s,
        "  Secrets appear as metadata only (name, type, keys, owner references, content hash).\n  \
         {} Secret(s) read; every value of them ({} distinct strings: values, base64 and escaped\n  \
         forms), every JAAS or properties password option and every sasl.jaas.config value in any\n  \
         file was replaced by <redacted>. ANSI escapes and control characters were removed.",
        o.redaction.secrets, o.redaction.values_searched
    );

    let _ = writeln!(s, "\nFiles");
    let mut t = Table::new(["PATH", "BYTES", "WHAT"]);
    for f in &o.files {
        // The index cannot know its own size while it is being written.
        let bytes = if f.path == INDEX_FILE {
            "-".to_string()
        } else {
            f.bytes.to_string()
        };
        t.row([f.path.clone(), bytes, describe(&f.path)]);
    }
    s.push_str(&t.render(2));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixture::outcome;

    #[test]
    fn readme_matches_the_golden_file() {
        let got = render(&outcome());
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/report/testdata/README.golden.txt"
        );
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &got).unwrap();
        }
        let want = std::fs::read_to_string(path).expect("golden file (UPDATE_GOLDEN=1 writes it)");
        assert_eq!(
            got, want,
            "README.txt changed; UPDATE_GOLDEN=1 rewrites the golden file"
        );
    }

    #[test]
    fn the_index_survives_its_own_redaction() {
        let text = render(&outcome());
        assert_eq!(crate::report::redact::Redactor::default().clean(&text), text);
    }

    #[test]
    fn a_complete_report_says_so() {
        let mut o = outcome();
        o.missing.clear();
        o.complete = true;
        o.logs_tail = Some(500);
        let text = render(&o);
        assert!(text.contains("Complete:") && text.contains("yes"), "{text}");
        assert!(text.contains("nothing: every part was collected"));
        assert!(text.contains("last 500 lines per worker container"));
    }
}
