//! `kubectl mm2 report`: flags, where the archive goes, progress and the summary; the use case
//! is `mm2_core::report`.

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::clients::parse_duration;
use mm2_core::error::{Error, Result};
use mm2_core::output::Palette;
use mm2_core::report::{self, ReportOptions, ReportOutcome};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

/// Flags of report.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only this direction (its MirrorMaker 2 and the contexts of both ends); default: everything
    pub direction: Option<String>,
    /// Where to write the archive (default: mm2-report-<UTC time>.tar.gz in the current folder;
    /// `-` for stdout, never a terminal)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<String>,
    /// Only events newer than this (e.g. 30m, 2h)
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub since: Duration,
    /// Also collect the logs of the MirrorMaker 2 worker containers (the last --tail lines)
    #[arg(long)]
    pub logs: bool,
    /// With --logs: how many lines per container
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "logs", value_parser = clap::value_parser!(i64).range(1..))]
    pub tail: i64,
}

/// Run `report`: exit 0 when the archive is complete, 3 when parts are missing.
pub async fn run(g: &GlobalArgs, a: &ReportArgs) -> Result<u8> {
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let to_stdout = a.file.as_deref() == Some("-");
    if to_stdout && g.output.is_machine() {
        return Err(Error::Usage(
            "-f - writes the archive to stdout, where -o json|yaml prints the outcome: pass -f FILE with -o"
                .into(),
        ));
    }
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "refusing to write a binary archive to a terminal: redirect stdout (`-f - > report.tar.gz`) or pass -f FILE"
                .into(),
        ));
    }
    if let Some(f) = a.file.as_deref().filter(|f| *f != "-") {
        check_destination(Path::new(f))?;
    }
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let opts = ReportOptions {
        direction: a.direction.clone(),
        since: a.since,
        logs_tail: a.logs.then_some(a.tail),
        timeout: g.timeout_or(mm2_core::timeouts::REPORT_CALL),
        plugin_version: env!("CARGO_PKG_VERSION").to_string(),
        now: now_seconds(),
    };
    let spinner = spinner();
    let progress = |msg: &str| {
        if let Some(s) = &spinner {
            s.set_message(msg.to_string());
        }
    };
    let built = report::build(&kc, &req, &opts, &progress).await;
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    let mut built = built?;
    let file = match &a.file {
        Some(f) => f.clone(),
        None => report::plan::default_file_name(opts.now),
    };
    write_archive(&file, &built.archive)?;
    built.outcome.file = Some(file);
    let outcome = &built.outcome;
    match g.output.serialize(outcome) {
        Some(doc) => mm2_core::hprint!("{doc}"),
        None => summary(outcome, built.archive.len()),
    }
    if g.output.is_machine() {
        // The table summary lists them itself.
        list_missing(outcome);
    }
    Ok(outcome.exit_code())
}

/// Now, to the second (file names and README.txt do not need nanoseconds).
fn now_seconds() -> k8s_openapi::jiff::Timestamp {
    let now = k8s_openapi::jiff::Timestamp::now();
    k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// A spinner on stderr, only when a person is watching it.
fn spinner() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(120));
    pb.set_message("starting");
    Some(pb)
}

/// Fail before collecting anything when the archive could not be written where asked.
fn check_destination(file: &Path) -> Result<()> {
    if file.is_dir() {
        return Err(Error::Usage(format!(
            "-f {}: is a folder; name the archive file, e.g. -f {}/mm2-report.tar.gz",
            file.display(),
            file.display()
        )));
    }
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(Error::Usage(format!(
            "-f {}: the folder {} does not exist",
            file.display(),
            parent.display()
        )));
    }
    Ok(())
}

fn write_archive(file: &str, bytes: &[u8]) -> Result<()> {
    let result = if file == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes).and_then(|_| out.flush())
    } else {
        std::fs::write(file, bytes)
    };
    result.map_err(|e| Error::Invalid(format!("cannot write the archive to {file}: {e}")))
}

/// Human summary, on stderr (stdout may be the archive).
fn summary(o: &ReportOutcome, bytes: usize) {
    let pal = Palette::for_stderr();
    let file = o.file.as_deref().unwrap_or("-");
    let place = if file == "-" {
        "stdout".to_string()
    } else {
        file.to_string()
    };
    let reachable = o.contexts.iter().filter(|c| c.reachable).count();
    mm2_core::heprintln!(
        "{} wrote {place} ({bytes} bytes, {} files, {reachable}/{} contexts answered)",
        if o.complete {
            pal.good("✔")
        } else {
            pal.warn("⚠")
        },
        o.files.len(),
        o.contexts.len()
    );
    list_missing(o);
    if o.complete {
        mm2_core::heprintln!("  everything listed in README.txt was collected; Secret values are redacted");
    }
}

fn list_missing(o: &ReportOutcome) {
    if o.missing.is_empty() {
        return;
    }
    let pal = Palette::for_stderr();
    mm2_core::heprintln!(
        "{} {} part(s) could not be collected (also listed in README.txt):",
        pal.warn("missing:"),
        o.missing.len()
    );
    for m in &o.missing {
        mm2_core::heprintln!(
            "  [{}] {} ({}): {}",
            m.context.as_deref().unwrap_or("-"),
            m.part,
            m.kind,
            m.reason
        );
    }
}
