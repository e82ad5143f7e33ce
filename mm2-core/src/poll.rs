//! One way to wait for a cluster to converge: probe until done, a hard failure, or the deadline,
//! telling `progress` each new thing seen. Every probe is bounded by what is left of the deadline,
//! so a hung API server cannot stretch the wait past `--timeout`.

use crate::error::{Error, Result};
use std::future::Future;
use std::time::{Duration, Instant};

/// How often to look again: the operator acts within a reconcile, a few hundred ms is plenty.
const INTERVAL: Duration = Duration::from_millis(400);

/// What one look found.
#[derive(Debug)]
pub enum Probe<T> {
    Done(T),
    /// Not yet: a one-line description of what is seen (shown when it changes).
    Seen(String),
    /// Waiting longer cannot help (a FAILED connector): stop with this error.
    Failed(Error),
}

/// Probe until [`Probe::Done`] or [`Probe::Failed`], or `timeout` passes (a `NotConverged` error
/// naming `what` and the last thing seen). A probe that errs is simply tried again.
pub async fn until<T, F, Fut>(
    timeout: Duration,
    what: &str,
    mut probe: F,
    mut progress: impl FnMut(&str),
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left.max(Duration::from_millis(1)), probe()).await {
            Ok(Probe::Done(t)) => return Ok(t),
            Ok(Probe::Failed(e)) => return Err(e),
            Ok(Probe::Seen(seen)) if seen != last => {
                progress(&seen);
                last = seen;
            }
            Ok(Probe::Seen(_)) | Err(_) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::NotConverged {
                what: if last.is_empty() {
                    what.to_string()
                } else {
                    format!("{what} (last seen: {last})")
                },
                timeout,
            });
        }
        tokio::time::sleep(INTERVAL.min(left)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn done_after_a_few_looks_reports_each_change_once() {
        let n = Cell::new(0);
        let mut seen = vec![];
        let r = until(
            Duration::from_secs(10),
            "three looks",
            || {
                n.set(n.get() + 1);
                let k = n.get();
                async move {
                    if k >= 3 {
                        Probe::Done(k)
                    } else {
                        Probe::Seen("waiting".to_string())
                    }
                }
            },
            |s| seen.push(s.to_string()),
        )
        .await
        .unwrap();
        assert_eq!(r, 3);
        assert_eq!(seen, vec!["waiting"]);
    }

    #[tokio::test]
    async fn deadline_names_what_and_the_last_thing_seen() {
        let e = until::<(), _, _>(
            Duration::from_millis(50),
            "the operator to report PAUSED",
            || async { Probe::Seen("source=RUNNING".into()) },
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&e, Error::NotConverged { what, .. } if what == "the operator to report PAUSED (last seen: source=RUNNING)"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_hung_probe_cannot_outlive_the_deadline() {
        let started = Instant::now();
        let e = until::<(), _, _>(
            Duration::from_millis(100),
            "a hung server",
            std::future::pending::<Probe<()>>,
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::NotConverged { .. }));
        // Generous bound: the point is "returns", not a timing target.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn failed_stops_at_once() {
        let e = until::<(), _, _>(
            Duration::from_secs(10),
            "x",
            || async { Probe::Failed(Error::Invalid("FAILED".into())) },
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)));
    }
}
