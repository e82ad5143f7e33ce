//! kubectl's side of completion: it runs `kubectl_complete-<plugin> <words...>` (or the shims run
//! `kubectl-<plugin> __complete <words...>`) and reads Cobra's answer, one `value\tdescription` a
//! line then `:<directive>`. [`dispatch`] recognises such a request and answers it.

use super::{Live, Offline, complete};
use clap::Command;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// The name kubectl looks for: `kubectl_complete-mm2`.
pub fn completer_name(plugin: &str) -> String {
    format!("kubectl_complete-{}", plugin.replace('-', "_"))
}

/// The plugin executable: `kubectl-mm2`.
pub fn plugin_exe(plugin: &str) -> String {
    format!("kubectl-{}", plugin.replace('-', "_"))
}

/// Answer kubectl's completion request when this process is one: invoked as
/// `kubectl_complete-<plugin>` (argv\[0\] basename), or as `kubectl-<plugin> __complete ...` /
/// `__completeNoDesc ...`. Call it first thing in `main`, before clap parses anything; `None`
/// means "not a completion request, carry on".
pub fn dispatch(cmd: impl FnOnce() -> Command, plugin: &str) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let (words, descriptions) = completion_request(&args, plugin)?;
    let out = if std::env::var_os("MM2_COMPLETION_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0") {
        complete(cmd(), &words, &Offline)
    } else {
        complete(cmd(), &words, &Live::from_env())
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.render(descriptions).as_bytes());
    let _ = stdout.flush();
    // kubectl ignores the whole answer of a process that exits non-zero.
    Some(ExitCode::SUCCESS)
}

/// `Some((words, with_descriptions))` when `argv` is a completion request for `plugin`.
pub fn completion_request(argv: &[OsString], plugin: &str) -> Option<(Vec<String>, bool)> {
    let argv0 = argv.first()?;
    let base = Path::new(argv0)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = base.strip_suffix(".exe").unwrap_or(&base);
    let rest: Vec<String> = argv[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if base == completer_name(plugin) {
        return Some((rest, true));
    }
    match rest.first().map(String::as_str) {
        Some("__complete") => Some((rest[1..].to_vec(), true)),
        Some("__completeNoDesc") => Some((rest[1..].to_vec(), false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv0_and_dunder_complete() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            completion_request(
                &os(&["/home/u/.krew/bin/kubectl_complete-mm2", "pause", ""]),
                "mm2"
            ),
            Some((vec!["pause".into(), "".into()], true))
        );
        assert_eq!(
            completion_request(&os(&["kubectl-mm2", "__completeNoDesc", "pa"]), "mm2"),
            Some((vec!["pa".into()], false))
        );
        assert_eq!(completion_request(&os(&["kubectl-mm2", "status"]), "mm2"), None);
        assert_eq!(
            completion_request(&os(&["kubectl_complete-clusterset"]), "mm2"),
            None
        );
        assert_eq!(completer_name("clusterset"), "kubectl_complete-clusterset");
    }
}
