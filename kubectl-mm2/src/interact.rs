//! The terminal side every command shares: the direction picker, confirmations, and progress
//! (a spinner on a terminal, one line per change elsewhere).

use mm2_core::cli::{GlobalArgs, interactive};
use mm2_core::direction::Direction;
use mm2_core::error::{Error, Result};
use mm2_core::resources::inventory::Mm2Object;
use mm2_core::topology::{Route, Topology};
use std::time::Duration;

/// Progress for waits: a spinner on a terminal, one line per change elsewhere.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub(crate) fn new(msg: &str) -> Self {
        if console::Term::stderr().is_term() {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar.set_message(msg.to_string());
            Progress { bar: Some(bar) }
        } else {
            mm2_core::heprintln!("◎ {msg}");
            Progress { bar: None }
        }
    }
    pub(crate) fn update(&self, line: &str) {
        match &self.bar {
            Some(b) => b.set_message(line.to_string()),
            None => mm2_core::heprintln!("  … {line}"),
        }
    }
    pub(crate) fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// A progress display started on the first update (a command that needs no wait shows none).
#[derive(Default)]
pub(crate) struct LazyProgress {
    progress: Option<Progress>,
}

impl LazyProgress {
    pub(crate) fn update(&mut self, title: impl FnOnce() -> String, line: &str) {
        self.progress
            .get_or_insert_with(|| Progress::new(&title()))
            .update(line);
    }
    pub(crate) fn finish(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }
}

/// Ask each question in turn (`--yes` answers them all); a no or no terminal stops here.
pub(crate) fn confirm_all(g: &GlobalArgs, questions: &[String]) -> Result<()> {
    questions
        .iter()
        .try_for_each(|q| mm2_core::cli::confirm(q, g.yes))
}

/// Which directions the user means: the argument (a direction or an MM2's name), --all, a
/// picker on a terminal, or an error.
pub(crate) fn pick_directions(
    topo: &Topology,
    arg: Option<&str>,
    all: bool,
    verb: &str,
) -> Result<Vec<Direction>> {
    let known = topo.directions();
    if let Some(a) = arg {
        return Ok(mm2_core::topology::serving::select(topo, a)?.directions);
    }
    if all {
        return Ok(known);
    }
    let listing: Vec<String> = known.iter().map(|d| d.to_string()).collect();
    if !interactive() {
        return Err(Error::Usage(format!(
            "which direction? valid: {} (quote the arrow, or write SOURCE:TARGET; --all for every direction)",
            if listing.is_empty() {
                "none found".to_string()
            } else {
                listing.join(", ")
            }
        )));
    }
    let items: Vec<String> = known
        .iter()
        .map(|d| {
            let state = topo
                .routes_for(d)
                .first()
                .and_then(|r| topo.mm2(r).map(|m| summary_state(m, r)))
                .unwrap_or_else(|| "unreachable".into());
            format!("{d}   ({state})")
        })
        .collect();
    let idx = dialoguer::Select::new()
        .with_prompt(format!("Direction to {verb}"))
        .items(&items)
        .default(0)
        .interact()
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(vec![known[idx].clone()])
}

/// `source=RUNNING checkpoint=PAUSED` for the picker.
fn summary_state(m: &Mm2Object, r: &Route) -> String {
    m.spec
        .connector_kinds(r.mirror_index)
        .into_iter()
        .map(|k| {
            let st = m.status.as_ref().and_then(|s| {
                s.connectors
                    .iter()
                    .find(|c| c.name == k.connector_name(&r.direction))
            });
            format!(
                "{}={}",
                k.as_str(),
                st.map(|c| c.connector.state.as_str()).unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A human line: stdout for a table run, stderr when stdout holds the JSON/YAML document.
pub(crate) fn say(g: &GlobalArgs, line: &str) {
    if g.output.is_machine() {
        mm2_core::heprintln!("{line}");
    } else {
        mm2_core::hprintln!("{line}");
    }
}
