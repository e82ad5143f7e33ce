//! `convert`'s output: the manifests with their placement header (stdout), the notes (stderr).

use super::{Action, Converted, Document, Outcome};

/// The comment header of one converted manifest: where it goes and what it needs.
pub fn header(c: &Converted) -> String {
    let mut h = String::new();
    let ns = c
        .namespace
        .as_deref()
        .unwrap_or("(namespace of the Kustomization)");
    h.push_str(&format!(
        "# kubectl mm2 convert: KafkaMirrorMaker2 {ns}/{} ({}), {}{}\n",
        c.name,
        c.directions.join(", "),
        c.api_version,
        match (c.action, &c.from_cluster) {
            (Action::Moved, Some(f)) => format!(", moved from {f} to {}", c.placement.cluster),
            (Action::Split, Some(f)) => format!(
                ", split out of {} and moved from {f} to {}",
                c.from, c.placement.cluster
            ),
            (Action::Moved | Action::Split, None) => format!(", split out of {}", c.from),
            (Action::Reshaped, _) => String::new(),
            (Action::Unchanged, _) => ", unchanged".into(),
        }
    ));
    h.push_str(&format!(
        "# Cluster: {}{}, namespace {ns}\n",
        c.placement.cluster,
        c.placement
            .context
            .as_ref()
            .map(|x| format!(" (context {x})"))
            .unwrap_or_default()
    ));
    match &c.placement.flux {
        Some(f) => h.push_str(&format!(
            "# Flux path: {} (Kustomization {}/{})\n",
            f.path.as_deref().unwrap_or("(the Kustomization has no spec.path)"),
            f.namespace,
            f.kustomization
        )),
        None => h.push_str(&format!(
            "# Flux path: the Kustomization that deploys cluster {}'s Kafka apps (not known offline; `kubectl mm2 convert {}` names it)\n",
            c.placement.cluster,
            c.directions
                .first()
                .and_then(|d| crate::direction::parse(d, &[]).ok())
                .map(|d| d.shell_safe())
                .unwrap_or_else(|| "SOURCE:TARGET".into())
        )),
    }
    if !c.secrets.is_empty() {
        h.push_str(&format!("# Secrets needed in {ns} on {}:\n", c.placement.cluster));
        for s in &c.secrets {
            if let Some(cmd) = &s.copy_with {
                h.push_str(&format!(
                    "#   {} ({}; a copy of {}'s Secret: `{cmd}`)\n",
                    s.name, s.purpose, s.of_cluster
                ));
            } else {
                h.push_str(&format!("#   {} ({}; local)\n", s.name, s.purpose));
            }
        }
    }
    h
}

/// The manifests as multi-document YAML: converted MM2s with their header, the rest as written.
pub fn render_yaml(o: &Outcome) -> String {
    let mut parts = Vec::new();
    for d in &o.documents {
        let mut s = match d {
            // The header quotes cluster data (names, the Flux path): escaped like any human text.
            Document::KafkaMirrorMaker2(c) => {
                crate::terminal::safe(&header(c), false).into_owned() + &crate::output::to_yaml(&c.manifest)
            }
            Document::PassThrough(p) => p.text.clone(),
        };
        if !s.ends_with('\n') {
            s.push('\n');
        }
        parts.push(s);
    }
    parts.join("---\n")
}

/// Notes and refusals, for stderr.
pub fn render_notes(o: &Outcome) -> String {
    let mut s = String::new();
    for n in &o.notes {
        s.push_str(&format!("· {n}\n"));
    }
    for c in o.converted() {
        let what = match c.action {
            Action::Moved => format!("moved to {}", c.placement.cluster),
            Action::Split => format!("split out of {} for {}", c.from, c.placement.cluster),
            Action::Reshaped => format!("converted to {}", c.api_version),
            Action::Unchanged => "already in the requested shape and layout".into(),
        };
        s.push_str(&format!("{} ({}): {what}\n", c.name, c.directions.join(", ")));
        for n in &c.notes {
            s.push_str(&format!("  · {n}\n"));
        }
    }
    for r in &o.refusals {
        s.push_str(&format!(
            "{}: NOT converted: {}\n  → {}\n",
            r.name, r.reason, r.manual_step
        ));
    }
    s
}
