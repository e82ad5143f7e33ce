//! A container's log as the kubelet keeps and serves it: timestamped lines, and the options of
//! `GET /containerLogs/<ns>/<pod>/<container>` applied the way kubelet 1.20 applies them
//! (`pkg/kubelet/server/server.go` `getContainerLogs`, `pkg/kubelet/kuberuntime/logs`):
//!
//! - the query decodes into `PodLogOptions`; a value that does not parse is 400, a value that
//!   does not validate (`tailLines < 0`, `sinceSeconds < 1`, `limitBytes < 1`, both
//!   `sinceSeconds` and `sinceTime`) is 422;
//! - `tailLines=N` starts N lines from the end of the log, *then* lines older than the `since`
//!   bound are skipped (so `tailLines` and `sinceSeconds` together can give fewer than N lines);
//! - `timestamps=true` prefixes each line with its time (RFC 3339 with nanoseconds) and a space;
//! - `limitBytes` cuts the output after that many bytes, mid-line if need be.
//!
//! Pure functions: the server in `kubelet/mod.rs` feeds them.

use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// One line of a container's log (without its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub at: Timestamp,
    pub text: String,
}

/// The log options the kubelet reads from the query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<i64>,
    pub previous: bool,
    pub follow: bool,
}

/// Why a query was refused: the HTTP status and the kubelet's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub status: u16,
    pub message: String,
}

impl LogQuery {
    /// Decodes and validates a query string (without `?`).
    pub fn parse(query: &str) -> Result<LogQuery, QueryError> {
        let undecodable = || QueryError {
            status: 400,
            message: r#"{"message": "Unable to decode query."}"#.into(),
        };
        let int = |v: &str| v.parse::<i64>().map_err(|_| undecodable());
        let boolean = |v: &str| match v {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            _ => Err(undecodable()),
        };
        let mut q = LogQuery::default();
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = crate::doubles::percent_decode(v);
            match k {
                "tailLines" => q.tail_lines = Some(int(&v)?),
                "sinceSeconds" => q.since_seconds = Some(int(&v)?),
                "limitBytes" => q.limit_bytes = Some(int(&v)?),
                "sinceTime" => q.since_time = Some(v.parse().map_err(|_| undecodable())?),
                "timestamps" => q.timestamps = boolean(&v)?,
                "previous" => q.previous = boolean(&v)?,
                "follow" => q.follow = boolean(&v)?,
                _ => {}
            }
        }
        let invalid = q.tail_lines.is_some_and(|n| n < 0)
            || q.since_seconds.is_some_and(|n| n < 1)
            || q.limit_bytes.is_some_and(|n| n < 1)
            || (q.since_seconds.is_some() && q.since_time.is_some());
        if invalid {
            return Err(QueryError {
                status: 422,
                message: r#"{"message": "Invalid request."}"#.into(),
            });
        }
        Ok(q)
    }

    /// The oldest time a line may have, if bounded.
    fn since(&self, now: Timestamp) -> Option<Timestamp> {
        self.since_time
            .or_else(|| self.since_seconds.map(|s| now - SignedDuration::from_secs(s)))
    }
}

/// What the kubelet writes for `q` from `lines` (oldest first) at `now`.
pub fn render(lines: &[LogLine], q: &LogQuery, now: Timestamp) -> Vec<u8> {
    let start = match q.tail_lines {
        Some(n) => lines.len().saturating_sub(usize::try_from(n).unwrap_or(0)),
        None => 0,
    };
    let since = q.since(now);
    let mut out = Vec::new();
    for l in &lines[start..] {
        if since.is_some_and(|s| l.at < s) {
            continue;
        }
        if q.timestamps {
            out.extend_from_slice(rfc3339_nano(l.at).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(l.text.as_bytes());
        out.push(b'\n');
    }
    if let Some(limit) = q.limit_bytes.and_then(|n| usize::try_from(n).ok()) {
        out.truncate(limit);
    }
    out
}

/// Go's `time.RFC3339Nano` in UTC: fraction without trailing zeros, none when whole.
pub fn rfc3339_nano(t: Timestamp) -> String {
    let whole = Timestamp::from_second(t.as_second()).unwrap_or(t);
    let base = whole.to_string();
    let nanos = t.subsec_nanosecond();
    if nanos == 0 {
        return base;
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}Z", base.trim_end_matches('Z'), frac.trim_end_matches('0'))
}

/// log4j's `%d{yyyy-MM-dd HH:mm:ss,SSS}` in UTC, as Strimzi's Connect images log.
fn log4j_time(t: Timestamp) -> String {
    let s = rfc3339_nano(Timestamp::from_second(t.as_second()).unwrap_or(t));
    format!(
        "{},{:03}",
        s.trim_end_matches('Z').replace('T', " "),
        t.subsec_millisecond()
    )
}

/// What a MirrorMaker 2 worker (Strimzi's Kafka Connect image) writes when it starts, up to
/// `started`: `pod` of KafkaMirrorMaker2 `cluster`, reachable at `pod_ip`.
pub fn connect_worker_startup(pod: &str, cluster: &str, pod_ip: &str, started: Timestamp) -> Vec<LogLine> {
    let worker = format!("[Worker clientId=connect-{pod_ip}, groupId=mirrormaker2-cluster]");
    let herder =
        "(org.apache.kafka.connect.runtime.distributed.DistributedHerder) [DistributedHerder-connect-1-1]";
    let texts = [
        "Preparing truststore for replication".to_string(),
        format!("Preparing keystore for the MirrorMaker 2 {cluster}"),
        "Starting Kafka Connect with configuration:".to_string(),
        format!("  rest.advertised.host.name={pod}.{cluster}-mirrormaker2-api"),
        "  group.id=mirrormaker2-cluster".to_string(),
        "  security.protocol=SASL_SSL".to_string(),
        "  sasl.mechanism=SCRAM-SHA-512".to_string(),
        "INFO Kafka Connect worker initializing ... (org.apache.kafka.connect.cli.AbstractConnectCli) [main]".to_string(),
        "INFO Kafka version: 4.1.0 (org.apache.kafka.common.utils.AppInfoParser) [main]".to_string(),
        "INFO Kafka commitId: 5ae2da3b8ab6d6b6 (org.apache.kafka.common.utils.AppInfoParser) [main]".to_string(),
        "INFO Kafka Connect worker initialization took 2113ms (org.apache.kafka.connect.cli.AbstractConnectCli) [main]".to_string(),
        "INFO Kafka Connect starting (org.apache.kafka.connect.runtime.Connect) [main]".to_string(),
        format!("INFO {worker} Herder starting {herder}"),
        format!("INFO {worker} Discovered group coordinator kafka-0.kafka-brokers:9093 (id: 2147483647 rack: null) {herder}"),
        format!("INFO {worker} Rebalance started {herder}"),
        format!("INFO {worker} Successfully joined group with generation Generation{{generationId=3, memberId='connect-{pod_ip}-8d0a', protocol='sessioned'}} {herder}"),
        format!("INFO {worker} Joined group at generation 3 with protocol version 2 and got assignment: Assignment{{error=0, leader='connect-{pod_ip}-8d0a', leaderUrl='http://{pod_ip}:8083/', offset=12, connectorIds=[MirrorSourceConnector], taskIds=[MirrorSourceConnector-0], revokedConnectorIds=[], revokedTaskIds=[], delay=0}} with rebalance delay: 0 {herder}"),
        format!("INFO {worker} Starting connectors and tasks using config offset 12 {herder}"),
        format!("INFO {worker} Starting task MirrorSourceConnector-0 {herder}"),
        "INFO [MirrorSourceConnector|task-0] Starting MirrorSourceTask (org.apache.kafka.connect.mirror.MirrorSourceTask) [task-thread-MirrorSourceConnector-0]".to_string(),
        format!("INFO {worker} Finished starting connectors and tasks {herder}"),
        "INFO REST resources initialized; server is started and ready to handle requests (org.apache.kafka.connect.runtime.rest.RestServer) [main]".to_string(),
        "INFO Kafka Connect started (org.apache.kafka.connect.runtime.Connect) [main]".to_string(),
        "INFO [MirrorSourceConnector|task-0] WorkerSourceTask{id=MirrorSourceConnector-0} Committing offsets for 128 acknowledged messages (org.apache.kafka.connect.runtime.WorkerSourceTask) [task-thread-MirrorSourceConnector-0]".to_string(),
    ];
    let last = texts.len() as i64 - 1;
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            // The burst ends at `started` (whole seconds in the pod status, so the worker really
            // started up to a second later): a line a test appends after reading the pod Ready
            // is then always the newest.
            let at = started - SignedDuration::from_millis(37 * (last - i as i64));
            // The start-up script echoes plain lines; log4j lines carry their own time.
            let text = if text.starts_with("INFO ") {
                format!("{} {text}", log4j_time(at))
            } else {
                text
            };
            LogLine { at, text }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn log() -> Vec<LogLine> {
        [
            "2026-03-01T10:00:00Z",
            "2026-03-01T10:30:00Z",
            "2026-03-01T10:59:00.5Z",
            "2026-03-01T10:59:30Z",
        ]
        .iter()
        .enumerate()
        .map(|(i, at)| LogLine {
            at: t(at),
            text: format!("line {i}"),
        })
        .collect()
    }

    fn served(query: &str) -> String {
        let q = LogQuery::parse(query).unwrap();
        String::from_utf8(render(&log(), &q, t("2026-03-01T11:00:00Z"))).unwrap()
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(served("tailLines=2"), "line 2\nline 3\n");
        assert_eq!(served("tailLines=10"), "line 0\nline 1\nline 2\nline 3\n");
        assert_eq!(served("tailLines=0"), "");
        assert_eq!(served(""), "line 0\nline 1\nline 2\nline 3\n");
    }

    #[test]
    fn since_applies_after_the_tail() {
        assert_eq!(served("sinceSeconds=3600"), "line 0\nline 1\nline 2\nline 3\n");
        assert_eq!(served("sinceSeconds=120"), "line 2\nline 3\n");
        // The tail picks three lines, then the two older than ten minutes are skipped.
        assert_eq!(served("tailLines=3&sinceSeconds=600"), "line 2\nline 3\n");
        assert_eq!(
            served("sinceTime=2026-03-01T10%3A30%3A00Z"),
            "line 1\nline 2\nline 3\n"
        );
    }

    #[test]
    fn timestamps_and_byte_limit() {
        assert_eq!(
            served("tailLines=2&timestamps=true"),
            "2026-03-01T10:59:00.5Z line 2\n2026-03-01T10:59:30Z line 3\n"
        );
        assert_eq!(served("tailLines=2&limitBytes=9"), "line 2\nli");
    }

    #[test]
    fn bad_queries_are_refused_like_the_kubelet() {
        assert_eq!(LogQuery::parse("tailLines=x").unwrap_err().status, 400);
        assert_eq!(LogQuery::parse("tailLines=-1").unwrap_err().status, 422);
        assert_eq!(LogQuery::parse("sinceSeconds=0").unwrap_err().status, 422);
        assert_eq!(
            LogQuery::parse("sinceSeconds=5&sinceTime=2026-03-01T10%3A30%3A00Z")
                .unwrap_err()
                .status,
            422
        );
    }

    #[test]
    fn startup_lines_are_log4j_lines_in_time_order() {
        let lines = connect_worker_startup("m-0", "m", "198.18.1.7", t("2026-03-01T10:00:00Z"));
        assert!(lines.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(lines.last().unwrap().at, t("2026-03-01T10:00:00Z"));
        let started = lines
            .iter()
            .find(|l| l.text.contains("Kafka Connect started"))
            .unwrap();
        assert!(
            started.text.starts_with("2026-03-01 09:59:59,"),
            "{}",
            started.text
        );
        assert!(lines.iter().all(|l| !l.text.to_lowercase().contains("password")));
    }

    #[test]
    fn go_rfc3339_nano() {
        assert_eq!(rfc3339_nano(t("2026-03-01T10:00:00Z")), "2026-03-01T10:00:00Z");
        assert_eq!(
            rfc3339_nano(t("2026-03-01T10:00:00.120Z")),
            "2026-03-01T10:00:00.12Z"
        );
    }
}
