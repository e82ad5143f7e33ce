//! The two restart annotations' formats, written as Strimzi 0.51 reads them (see the module doc).

use super::*;

/// The restart annotation value for a connector.
pub fn connector_annotation(connector: &str, include_tasks: bool, only_failed: bool) -> String {
    let args: Vec<&str> = [(include_tasks, INCLUDE_TASKS), (only_failed, ONLY_FAILED)]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, a)| a)
        .collect();
    if args.is_empty() {
        connector.to_string()
    } else {
        format!("{connector}:{}", args.join(","))
    }
}

/// The task restart annotation value.
pub fn task_annotation(connector: &str, task: i64) -> String {
    format!("{connector}:{task}")
}

/// What Strimzi 0.51 makes of a `restart-connector` value for one connector: `None` when the
/// connector does not match it, `Some(Err(..))` for "Invalid annotation format", else
/// `Some(Ok((includeTasks, onlyFailed)))` (`KafkaMirrorMaker2AssemblyOperator.hasRestartAnnotation`,
/// `restartAnnotationIsValid`, `restartAnnotationHas*Arg`).
pub fn strimzi_reads_restart(
    value: &str,
    connector: &str,
) -> Option<std::result::Result<(bool, bool), &'static str>> {
    if !value.contains(connector) {
        return None;
    }
    // Java's String.split drops trailing empty strings.
    let mut parts: Vec<&str> = value.split(':').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() != 1 && parts.len() != 2 {
        return Some(Err(INVALID_FORMAT));
    }
    if !parts[0].eq_ignore_ascii_case(connector) {
        return Some(Err(INVALID_FORMAT));
    }
    if parts.len() == 2 {
        let ok = parts[1].split(',').all(|a| {
            let a = a.trim();
            a.eq_ignore_ascii_case(INCLUDE_TASKS) || a.eq_ignore_ascii_case(ONLY_FAILED)
        });
        if !ok {
            return Some(Err(INVALID_FORMAT));
        }
    }
    Some(Ok((value.contains(INCLUDE_TASKS), value.contains(ONLY_FAILED))))
}

/// What Strimzi 0.51 makes of a `restart-connector-task` value for one connector.
pub fn strimzi_reads_task(value: &str, connector: &str) -> Option<i64> {
    let (c, t) = value.trim().rsplit_once(':')?;
    if c.is_empty() || c != connector || t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}
