//! `kubectl mm2 doctor`: parse, call `mm2_core::doctor::run`, render.

use clap::Args;
use mm2_core::cli::{GlobalArgs, report_error};
use mm2_core::doctor::Check;
use mm2_core::error::Error;
use mm2_core::output::{OutputFormat, Palette};

/// Exit code of a usage error of doctor (sysexits EX_USAGE): 2 means "errors found".
pub const EXIT_USAGE: u8 = 64;
/// Exit code when doctor could not run at all (kubeconfig, unknown context; sysexits EX_UNAVAILABLE).
pub const EXIT_CANNOT_RUN: u8 = 69;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only this direction's findings (and those of its two clusters); default: the whole clusterset
    pub direction: Option<String>,
    /// Only these checks (repeatable or comma-separated)
    #[arg(long, value_name = "CHECK", value_delimiter = ',',
          value_parser = clap::builder::PossibleValuesParser::new(Check::NAMES))]
    pub only: Vec<String>,
}

pub async fn run(g: &GlobalArgs, a: &DoctorArgs) -> u8 {
    match diagnose(g, a).await {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            match e {
                Error::Usage(_) | Error::Direction(_) => EXIT_USAGE,
                _ => EXIT_CANNOT_RUN,
            }
        }
    }
}

async fn diagnose(g: &GlobalArgs, a: &DoctorArgs) -> Result<u8, Error> {
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let timeout = g.timeout_or(mm2_core::timeouts::READ);
    let report = mm2_core::doctor::run(&kc, &req, timeout, a.direction.as_deref(), &a.only).await?;
    match g.output.serialize(&report) {
        Some(s) => mm2_core::hprint!("{s}"),
        // Cluster data (names, messages, evidence) is escaped before it reaches the terminal.
        None => mm2_core::hprint!(
            "{}",
            mm2_core::doctor::report::render(&report, g.output == OutputFormat::Wide, &Palette::for_stdout())
        ),
    }
    Ok(report.exit_code())
}
