//! `kubectl mm2 lag`: argument handling, rendering and `--watch`; logic in
//! `mm2_core::lag` (and `lag::report`).

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::clients::parse_duration;
use mm2_core::error::{Error, Result};
use mm2_core::lag::prometheus::PrometheusSource;
use mm2_core::lag::report::{self as lag_report, LagOptions, LagReport};
use mm2_core::lag::{self, Severity, Thresholds};
use mm2_core::output::{Health, OutputFormat, Palette, Table};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Flags of lag.
#[derive(Debug, Args)]
pub struct LagArgs {
    /// Direction (default: all)
    pub direction: Option<String>,
    /// Only topics matching this regular expression (source or remote name)
    #[arg(long, value_name = "REGEX")]
    pub topic: Option<String>,
    /// Only the N worst partitions per direction
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// WARNING above this many records behind (direction total)
    #[arg(long, value_name = "RECORDS", default_value_t = 10_000)]
    pub warn: u64,
    /// CRITICAL above this many records behind
    #[arg(long, value_name = "RECORDS", default_value_t = 50_000)]
    pub crit: u64,
    /// WARNING above this replication latency (e.g. 30s, 500ms)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub warn_latency: Option<Duration>,
    /// CRITICAL above this replication latency
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub crit_latency: Option<Duration>,
    /// Refresh every INTERVAL (default 5s) until Ctrl-C, with catch-up rate and ETA
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, default_missing_value = "5s", value_parser = parse_duration)]
    pub watch: Option<Duration>,
    /// With --watch: stop after the first refresh in which every direction is 0 records behind
    /// (a frozen or unknown figure never counts), exiting with that refresh's code; for scripts
    /// that wait for a catch-up (bound it with `timeout`)
    #[arg(long, requires = "watch")]
    pub until_caught_up: bool,
    /// Read the metrics from a Prometheus HTTP API instead of scraping each pod through the pod
    /// proxy. URL forms: `http://HOST:PORT[/PREFIX]` (plain HTTP from this machine; https is not
    /// supported) or `k8s://NAMESPACE/SERVICE:PORT[/PREFIX]` (alias `service:`), reached through the
    /// API server's service proxy of the context where the MirrorMaker 2 runs (works from a laptop,
    /// needs `get services/proxy`), e.g. `k8s://monitoring/prometheus-operated:9090`. Series are
    /// selected by the `namespace` and `strimzi_io_cluster` labels Strimzi's PodMonitor adds.
    #[arg(long, value_name = "URL", value_parser = PrometheusSource::parse)]
    pub prometheus: Option<PrometheusSource>,
}

/// Run `lag`; errors become UNKNOWN (3), the Nagios convention.
/// Exit code of a usage error of `lag`: UNKNOWN in the Nagios convention (never 2, CRITICAL).
pub const USAGE_EXIT: u8 = 3;

pub async fn run(g: &GlobalArgs, a: &LagArgs) -> u8 {
    match lag(g, a).await {
        Ok(code) => code,
        Err(e) => {
            mm2_core::cli::report_error(&e);
            Severity::Unknown.exit_code() as u8
        }
    }
}

async fn lag(g: &GlobalArgs, a: &LagArgs) -> Result<u8> {
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    if a.warn > a.crit {
        return Err(Error::Usage(format!(
            "--warn {} is above --crit {}",
            a.warn, a.crit
        )));
    }
    let topic = match &a.topic {
        Some(t) => Some(regex::Regex::new(t).map_err(|e| Error::Usage(format!("--topic: {e}")))?),
        None => None,
    };
    let opts = LagOptions {
        thresholds: Thresholds {
            warn_records: a.warn,
            crit_records: a.crit,
            warn_latency_ms: a.warn_latency.map(|d| d.as_secs_f64() * 1000.0),
            crit_latency_ms: a.crit_latency.map(|d| d.as_secs_f64() * 1000.0),
        },
        topic,
        top: a.top,
        prometheus: a.prometheus.clone(),
    };
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let timeout = g.timeout_or(mm2_core::timeouts::READ);
    let once = || lag_report::run(&kc, &req, a.direction.as_deref(), &opts, timeout);
    let Some(interval) = a.watch else {
        let report = once().await?;
        print_report(g.output, &report, None);
        return Ok(report.severity.exit_code() as u8);
    };
    let term = console::Term::stdout();
    let tty = term.is_term() && !g.output.is_machine();
    let mut prev: Option<(LagReport, Instant)> = None;
    let mut drawn = 0usize;
    // One Ctrl-C listener for the whole watch: a signal that arrives while a refresh is in
    // flight must stop the loop too (a listener made later would never hear it).
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut code = Severity::Unknown.exit_code() as u8;
    loop {
        let report = tokio::select! {
            r = once() => r?,
            _ = &mut interrupted => return Ok(code),
        };
        let now = Instant::now();
        let text = render(
            &report,
            g.output == OutputFormat::Wide,
            prev.as_ref().map(|(r, t)| (r, now - *t)),
            &Palette::for_stdout(),
        );
        if let Some(s) = g.output.serialize(&report) {
            mm2_core::hprint!("{s}");
        } else if tty {
            let _ = term.clear_last_lines(drawn);
            mm2_core::hprint!("{text}");
            drawn = text.lines().count();
        } else {
            mm2_core::hprintln!(
                "--- {}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            );
            mm2_core::hprint!("{text}");
        }
        code = report.severity.exit_code() as u8;
        if a.until_caught_up && report.caught_up() {
            return Ok(code);
        }
        prev = Some((report, now));
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut interrupted => return Ok(code),
        }
    }
}

fn print_report(fmt: OutputFormat, report: &LagReport, prev: Option<(&LagReport, Duration)>) {
    match fmt.serialize(report) {
        Some(s) => mm2_core::hprint!("{s}"),
        None => mm2_core::hprint!(
            "{}",
            render(report, fmt == OutputFormat::Wide, prev, &Palette::for_stdout())
        ),
    }
}

fn sev(p: &Palette, s: Severity) -> String {
    let h = match s {
        Severity::Ok => Health::Good,
        Severity::Warning => Health::Warn,
        _ => Health::Bad,
    };
    p.health(h, s.as_str())
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let n = x.round() as i64;
            let s = n.abs().to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(c);
            }
            if n < 0 { format!("-{out}") } else { out }
        }
        Some(_) => "NaN".into(),
        None => "-".into(),
    }
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() && x >= 10_000.0 => format!("{:.1}s", x / 1000.0),
        Some(x) if x.is_finite() => format!("{x:.0}ms"),
        _ => "-".into(),
    }
}

/// Human rendering, with catch-up figures when a previous snapshot is given, coloured with `p`
/// (`Palette::plain()` gives text without ANSI).
pub fn render(report: &LagReport, wide: bool, prev: Option<(&LagReport, Duration)>, p: &Palette) -> String {
    let mut out = String::new();
    for d in &report.directions {
        let e = &d.evaluation;
        let basis = match e.basis {
            Some(lag::LagBasis::RecordsLag) => "records-lag",
            Some(lag::LagBasis::InFlight) => "in flight (records-lag not exported)",
            None => "no figure",
        };
        let _ = writeln!(
            out,
            "{}  {}  {} records behind ({basis}), max latency {}{}",
            p.bold(&d.direction),
            sev(p, e.severity),
            num(e.records_behind),
            ms(e.max_latency_ms),
            match (&d.mm2, &d.context) {
                (Some(m), Some(c)) => format!("   [{}/{m} in {c}]", d.namespace.clone().unwrap_or_default()),
                _ => String::new(),
            }
        );
        if let Some(url) = &d.prometheus {
            let _ = writeln!(out, "  {} read from Prometheus {url}", p.dim("·"));
        }
        // A direction that could not be read has its error as its one reason: say it once.
        for r in e
            .reasons
            .iter()
            .filter(|r| d.error.as_ref().is_none_or(|err| &err.message != *r))
        {
            let _ = writeln!(out, "  {} {r}", p.dim("·"));
        }
        if let Some(err) = &d.error {
            let _ = writeln!(out, "  {} {}", p.bad(&format!("[{}]", err.kind)), err.message);
            if let Some(h) = &err.hint {
                let _ = writeln!(out, "  {} {h}", p.dim("hint:"));
            }
        }
        if let (Some((pr, elapsed)), Some(cur)) = (prev, &d.lag) {
            let before = pr
                .directions
                .iter()
                .find(|x| x.direction == d.direction)
                .and_then(|x| x.lag.as_ref());
            if let Some(c) = before.and_then(|b| lag::catch_up(b, cur, elapsed)) {
                let eta = match c.eta_s {
                    Some(s) if s <= 0.0 => "caught up".to_string(),
                    Some(s) => format!("ETA {}", mm2_core::error::humantime(Duration::from_secs_f64(s))),
                    None => "not catching up".into(),
                };
                let _ = writeln!(out, "  catch-up {:+.0} records/s, {eta}", c.rate_per_s);
            }
        }
        let Some(l) = &d.lag else { continue };
        if let Some(f) = l.in_flight {
            let _ = writeln!(out, "  in flight (poll − write): {}", num(Some(f)));
        }
        let mut t = if wide {
            Table::new([
                "TOPIC",
                "REMOTE TOPIC",
                "PARTITION",
                "RECORDS BEHIND",
                "LATENCY",
                "RECORD AGE",
                "RECORDS/S",
                "BYTES/S",
                "FROM",
            ])
        } else {
            Table::new([
                "TOPIC",
                "PARTITION",
                "RECORDS BEHIND",
                "LATENCY",
                "RECORD AGE",
                "RECORDS/S",
            ])
        };
        for part in &l.partitions {
            let ps = lag::partition_severity(part, &report.thresholds);
            let behind = num(part.records_lag);
            let behind = if matches!(ps, Severity::Critical | Severity::Warning) {
                sev_color(p, ps, &behind)
            } else {
                behind
            };
            if wide {
                let from = part
                    .sources
                    .records_lag
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|| "-".into());
                t.row([
                    part.topic.clone(),
                    part.remote_topic.clone(),
                    part.partition.to_string(),
                    behind,
                    ms(part.replication_latency_ms),
                    ms(part.record_age_ms),
                    num(part.record_rate),
                    num(part.byte_rate),
                    from,
                ]);
            } else {
                t.row([
                    part.topic.clone(),
                    part.partition.to_string(),
                    behind,
                    ms(part.replication_latency_ms),
                    ms(part.record_age_ms),
                    num(part.record_rate),
                ]);
            }
        }
        if !t.is_empty() {
            out.push_str(&t.render(2));
        }
        if wide && !l.groups.is_empty() {
            let mut g = Table::new(["GROUP", "PARTITIONS", "CHECKPOINT LATENCY"]);
            for grp in &l.groups {
                g.row([
                    grp.group.clone(),
                    grp.partitions.to_string(),
                    ms(grp.max_checkpoint_latency_ms),
                ]);
            }
            out.push_str(&g.render(2));
        }
        for pe in &l.pod_errors {
            let _ = writeln!(out, "  {} pod {}: {}", p.warn("⚠"), pe.pod, pe.reason);
        }
        for adv in &d.advice {
            let _ = writeln!(out, "  {} {}", p.warn("missing:"), adv.statement);
            for line in adv.rule_yaml.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    out
}

fn sev_color(p: &Palette, s: Severity, text: &str) -> String {
    match s {
        Severity::Warning => p.warn(text),
        _ => p.bad(text),
    }
}

#[cfg(test)]
mod tests {
    //! Golden files of `kubectl mm2 lag`: real MirrorMaker 2 metrics (mm2-core/testdata/real)
    //! judged by mm2-core against the MM2 that runs the direction, rendered without colour.

    use super::*;
    use crate::fixtures::{direction, golden, mm2, mm2_with, real_metrics, route, yaml};
    use mm2_core::error::Problem;
    use mm2_core::lag::PodScrape;
    use mm2_core::resources::inventory::Mm2Object;

    /// One pod of `m` answering `metrics`.
    fn judged(m: &Mm2Object, metrics: String) -> lag_report::DirectionLagReport {
        let r = route(m);
        let scrapes = vec![PodScrape {
            pod: format!("{}-mirrormaker2-0", m.name),
            direction: r.direction.clone(),
            result: Ok(metrics),
        }];
        lag_report::judge(&r.direction, m, r.mirror_index, &scrapes, &LagOptions::default())
    }

    fn running() -> Mm2Object {
        mm2(
            "convert/working-aws.yaml",
            Some("status-running.yaml"),
            "rciis-aws",
        )
    }

    /// The capture taken once the 20,000 records were copied, with Strimzi's example rules.
    fn copied() -> String {
        real_metrics("metrics-strimzi-0.51-rules.txt")
    }

    fn render_report(name: &str, directions: Vec<lag_report::DirectionLagReport>, wide: bool) -> LagReport {
        let report = lag_report::report(directions, &LagOptions::default());
        golden(
            &format!("lag/{name}.txt"),
            &render(&report, wide, None, &Palette::plain()),
        );
        report
    }

    #[test]
    fn caught_up_is_ok() {
        let r = render_report("ok", vec![judged(&running(), copied())], false);
        assert_eq!(r.severity, Severity::Ok);
        let r = render_report("ok-wide", vec![judged(&running(), copied())], true);
        assert_eq!(r.severity, Severity::Ok);
    }

    #[test]
    fn fifteen_thousand_behind_is_a_warning() {
        // The same capture with the replication consumer of orders-0 15,000 records behind
        // (between the runbook's 10,000 and 50,000): only its `records-lag` sample changes.
        let real = copied();
        let line = real
            .lines()
            .find(|l| {
                l.starts_with("kafka_consumer_fetch_manager_records_lag{")
                    && l.contains("MirrorSourceConnector-0")
                    && l.contains("><>records-lag\"")
            })
            .expect("the records-lag sample of orders-0");
        let behind = line.replace("} 0.0", "} 15000.0");
        assert_ne!(behind, line);
        let r = render_report(
            "warning",
            vec![judged(&running(), real.replace(line, &behind))],
            false,
        );
        assert_eq!(r.severity, Severity::Warning);
    }

    #[test]
    fn a_paused_source_freezes_the_figure_and_is_unknown() {
        let mut obj = yaml(&crate::fixtures::core_testdata("convert/working-aws.yaml"));
        obj["spec"]["mirrors"][0]["sourceConnector"]["state"] = "paused".into();
        let paused = mm2_with(obj, Some("status-paused.yaml"), "rciis-aws");
        let r = render_report("unknown-paused", vec![judged(&paused, copied())], false);
        assert_eq!(r.severity, Severity::Unknown, "a frozen 0 is never OK");
    }

    #[test]
    fn the_runbooks_metrics_rules_export_no_figure() {
        let r = render_report(
            "unknown-runbook-rules",
            vec![judged(&running(), real_metrics("metrics-runbook-rules.txt"))],
            false,
        );
        assert_eq!(r.severity, Severity::Unknown);
    }

    #[test]
    fn an_unreachable_context_is_unknown_with_its_error_once() {
        let down = Error::Unreachable {
            context: "rciis-proxmox".into(),
            server: "https://10.0.0.2:6443".into(),
            cause: "tcp connect error: Connection refused (os error 111)".into(),
        };
        let unread = lag_report::unread(
            &direction("aws->proxmox"),
            Problem::from_error(&down),
            &LagOptions::default(),
        );
        let r = render_report("unreachable", vec![unread, judged(&running(), copied())], false);
        assert_eq!(r.severity, Severity::Unknown);
    }
}
