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

/// What one look found, for a wait that reports what it last saw when time runs out
/// ([`until_deadline`]). A look that fails (`Err`) ends the wait with that error.
#[derive(Debug)]
pub enum Look<T, S> {
    Done(T),
    /// Not yet: a one-line description (shown when it changes) and what was seen, kept so the
    /// caller can report it if the deadline passes.
    Pending {
        line: String,
        seen: S,
    },
}

/// How a wait under [`until_deadline`] ended.
#[derive(Debug, PartialEq)]
pub enum Waited<T, S> {
    Done(T),
    /// The deadline passed; what the last look that answered saw (`None`: no look answered).
    TimedOut(Option<S>),
}

/// Probe until [`Probe::Done`] or [`Probe::Failed`], or `timeout` passes (a `NotConverged` error
/// naming `what` and the last thing seen). A probe that errs is simply tried again.
pub async fn until<T, F, Fut>(
    timeout: Duration,
    what: &str,
    mut probe: F,
    progress: impl FnMut(&str),
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe<T>>,
{
    let look = || {
        let fut = probe();
        async move {
            match fut.await {
                Probe::Done(t) => Ok(Look::Done(t)),
                Probe::Seen(line) => Ok(Look::Pending {
                    seen: line.clone(),
                    line,
                }),
                Probe::Failed(e) => Err(e),
            }
        }
    };
    match until_deadline(Instant::now() + timeout, look, progress).await? {
        Waited::Done(t) => Ok(t),
        Waited::TimedOut(last) => Err(Error::NotConverged {
            what: match last {
                Some(last) if !last.is_empty() => format!("{what} (last seen: {last})"),
                _ => what.to_string(),
            },
            timeout,
        }),
    }
}

/// Probe until [`Look::Done`] or a failed look, or `deadline` passes: then the wait is not an
/// error but [`Waited::TimedOut`] with the last thing seen, for commands that report a partial
/// result (a restart the operator has not taken yet) instead of failing. `deadline` is an
/// instant so several waits of one command can share one `--timeout`.
pub async fn until_deadline<T, S, F, Fut>(
    deadline: Instant,
    mut probe: F,
    mut progress: impl FnMut(&str),
) -> Result<Waited<T, S>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T, S>>>,
{
    let mut last_line = String::new();
    let mut last_seen = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left.max(Duration::from_millis(1)), probe()).await {
            Ok(Ok(Look::Done(t))) => return Ok(Waited::Done(t)),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Look::Pending { line, seen })) => {
                if line != last_line {
                    progress(&line);
                    last_line = line;
                }
                last_seen = Some(seen);
            }
            Err(_) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Waited::TimedOut(last_seen));
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

    #[tokio::test]
    async fn until_deadline_returns_the_last_look_instead_of_an_error() {
        let n = Cell::new(0);
        let mut lines = vec![];
        let w = until_deadline::<(), u32, _, _>(
            Instant::now() + Duration::from_millis(300),
            || {
                n.set(n.get() + 1);
                let k = n.get();
                async move {
                    Ok(Look::Pending {
                        line: "still pending".into(),
                        seen: k,
                    })
                }
            },
            |l| lines.push(l.to_string()),
        )
        .await
        .unwrap();
        assert_eq!(w, Waited::TimedOut(Some(n.get())));
        assert!(n.get() >= 1);
        assert_eq!(lines, vec!["still pending"]);
    }

    #[tokio::test]
    async fn until_deadline_with_no_answer_has_nothing_to_report() {
        let w = until_deadline::<(), u32, _, _>(
            Instant::now() + Duration::from_millis(50),
            std::future::pending::<Result<Look<(), u32>>>,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(w, Waited::TimedOut(None));
    }

    #[tokio::test]
    async fn until_deadline_stops_on_done_and_on_failed() {
        let w = until_deadline::<u8, (), _, _>(
            Instant::now() + Duration::from_secs(10),
            || async { Ok(Look::Done(7)) },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(w, Waited::Done(7));
        let e = until_deadline::<u8, (), _, _>(
            Instant::now() + Duration::from_secs(10),
            || async { Err(Error::Invalid("gone".into())) },
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)));
    }
}
