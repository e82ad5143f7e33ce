//! Shell completion for both plugins.
//!
//! Three ways in:
//! * **kubectl** (≥ 1.26) runs `kubectl_complete-mm2 <words...> <current word>` when the user
//!   presses TAB after `kubectl mm2`, and reads Cobra's `__complete` answer: one
//!   `value\tdescription` a line, then `:<directive>` (research/plugin-ecosystem.md §1). The plugin
//!   binary answers that itself, either when it runs under that name (the symlink made by
//!   `kubectl mm2 completion kubectl --install`) or as `kubectl-mm2 __complete <words...>` (the sh
//!   shims in `completions/`). See [`dispatch`].
//! * `kubectl-mm2 completion bash|zsh|fish|powershell|elvish` prints clap_complete's static
//!   script, for people who call the binary directly ([`run`]).
//! * The engine itself, [`complete`], for tests.
//!
//! The engine walks the clap [`Command`] like clap's parser does (subcommands, `--flag value`,
//! `--flag=value`, `-abc` clusters, `--`) and offers what fits the cursor: subcommands with their
//! `about`, flags, possible values, and *live* values chosen by the argument's id or value name
//! ([`ValueKind`]). Static candidates never read the kubeconfig nor touch the network; live ones go
//! through [`Lookup`], which in the binaries is [`Live`]: at most [`LIVE_TIMEOUT`] per context and
//! answers cached on disk for [`CACHE_TTL`] under `$XDG_CACHE_HOME/kubectl-mm2/completion/`.
//!
//! **Directions and the shell.** A direction's canonical spelling `proxmox->aws` contains `>`,
//! which an unquoted shell word turns into a redirect. Candidates are therefore only ever
//! `proxmox:aws` (with the description `proxmox->aws`), or `proxmox-to-aws` once the word being
//! completed already reads `proxmox-`, or `mm2-proxmox-to-aws` after `mm2-`. All three survive every
//! shell unquoted and `direction::parse` accepts them.

use crate::clients::Kubeconfigs;
use crate::topology::{ClustersetConfig, TopologyRequest, parse_cluster_flag};
use clap::builder::ValueHint;
use clap::{Arg, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Budget of a live lookup per context (connect + call); the whole lookup is capped a bit above.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a live answer is reused (`MM2_COMPLETION_TTL=<seconds>` overrides, 0 disables).
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How long a failed live lookup is remembered, so a dead cluster costs one timeout, not one per TAB.
pub const FAILED_TTL: Duration = Duration::from_secs(10);

/// Cobra's `ShellCompDirective` bits.
pub mod directive {
    /// Let the shell fall back to file names when there is no candidate.
    pub const DEFAULT: u32 = 0;
    /// Something went wrong; the shell offers nothing.
    pub const ERROR: u32 = 1;
    /// Do not add a space after the completed word.
    pub const NO_SPACE: u32 = 2;
    /// Never fall back to file names.
    pub const NO_FILE_COMP: u32 = 4;
    /// Keep the candidates in the given order.
    pub const KEEP_ORDER: u32 = 32;
}

/// One completion candidate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub value: String,
    pub help: String,
}

impl Candidate {
    pub fn new(value: impl Into<String>, help: impl Into<String>) -> Self {
        Candidate {
            value: value.into(),
            help: help.into(),
        }
    }
}

/// The answer: candidates plus a Cobra directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub candidates: Vec<Candidate>,
    pub directive: u32,
}

impl Completion {
    /// Cobra's wire format: `value\tdescription` lines (descriptions dropped for
    /// `__completeNoDesc`), then `:<directive>`.
    pub fn render(&self, descriptions: bool) -> String {
        let mut out = String::new();
        for c in &self.candidates {
            out.push_str(&one_line(&c.value));
            let help = one_line(&c.help);
            if descriptions && !help.is_empty() {
                out.push('\t');
                out.push_str(&help);
            }
            out.push('\n');
        }
        out.push(':');
        out.push_str(&self.directive.to_string());
        out.push('\n');
        out
    }

    /// Candidate values only (tests).
    pub fn values(&self) -> Vec<&str> {
        self.candidates.iter().map(|c| c.value.as_str()).collect()
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .replace('\t', " ")
        .trim()
        .to_string()
}

/// What kind of live value an argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// A kube context of the kubeconfig (a local file read, no network).
    Context,
    /// `ALIAS=CONTEXT` for `--cluster` (kubeconfig only).
    ClusterEntry,
    /// A namespace of the selected context.
    Namespace,
    /// A replication direction of the clusterset (topology discovery).
    Direction,
    /// A Secret (copy-secret; in `--from`'s context).
    Secret,
    /// A Service (export).
    Service,
    /// A ServiceExport/ServiceImport name of the clusterset (resolve).
    Export,
    /// A Strimzi Kafka cluster (export --kafka).
    Kafka,
    /// A file name: the shell completes it.
    Path,
}

impl ValueKind {
    fn key(self) -> &'static str {
        match self {
            ValueKind::Context => "context",
            ValueKind::ClusterEntry => "cluster",
            ValueKind::Namespace => "namespace",
            ValueKind::Direction => "direction",
            ValueKind::Secret => "secret",
            ValueKind::Service => "service",
            ValueKind::Export => "export",
            ValueKind::Kafka => "kafka",
            ValueKind::Path => "path",
        }
    }
}

/// Which live kind an argument takes: by value name first, then by id (and subcommand).
pub fn kind_of(arg: &Arg, subcommand: &str) -> Option<ValueKind> {
    if matches!(
        arg.get_value_hint(),
        ValueHint::FilePath | ValueHint::AnyPath | ValueHint::DirPath
    ) {
        return Some(ValueKind::Path);
    }
    let value_name = arg.get_value_names().and_then(|v| v.first()).map(|s| s.as_str());
    match value_name {
        Some("CONTEXT") => return Some(ValueKind::Context),
        Some("NAMESPACE") => return Some(ValueKind::Namespace),
        Some("KAFKA") => return Some(ValueKind::Kafka),
        Some("ALIAS=CONTEXT") => return Some(ValueKind::ClusterEntry),
        Some("PATH" | "FILE" | "DIR") => return Some(ValueKind::Path),
        Some("DIRECTION") => return Some(ValueKind::Direction),
        Some("SECRET") => return Some(ValueKind::Secret),
        Some("SERVICE") => return Some(ValueKind::Service),
        _ => {}
    }
    Some(match (subcommand, arg.get_id().as_str()) {
        (_, "direction" | "directions") => ValueKind::Direction,
        (_, "context" | "contexts" | "from" | "to") => ValueKind::Context,
        (_, "namespace") => ValueKind::Namespace,
        ("copy-secret", "name") | (_, "secret") => ValueKind::Secret,
        ("resolve" | "unexport", "name") => ValueKind::Export,
        (_, "service") => ValueKind::Service,
        (_, "kafka") => ValueKind::Kafka,
        _ => return None,
    })
}

/// What was typed before the cursor: the subcommand path and every flag/positional value, by clap
/// argument id (globals included).
#[derive(Debug, Default, Clone)]
pub struct Typed {
    /// Subcommand names from the root, e.g. `["pause"]`.
    pub path: Vec<String>,
    values: BTreeMap<String, Vec<String>>,
}

impl Typed {
    /// Last value given for `id`.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.values
            .get(id)
            .and_then(|v| v.last())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Every value given for `id` (delimited values split).
    pub fn all(&self, id: &str) -> Vec<String> {
        self.values.get(id).cloned().unwrap_or_default()
    }

    /// Was the flag given at all?
    pub fn has(&self, id: &str) -> bool {
        self.values.contains_key(id)
    }

    fn push(&mut self, arg: &Arg, value: &str) {
        let entry = self.values.entry(arg.get_id().to_string()).or_default();
        match arg.get_value_delimiter() {
            Some(d) if !value.is_empty() => {
                entry.extend(value.split(d).filter(|s| !s.is_empty()).map(String::from))
            }
            _ => entry.push(value.to_string()),
        }
    }

    /// A cache key component: everything that selects clusters, namespaces or the kubeconfig.
    fn selection(&self) -> String {
        let mut s = String::new();
        for id in [
            "kubeconfig",
            "context",
            "clusters",
            "clusterset_config",
            "namespace",
            "all_namespaces",
            "from",
            "to",
        ] {
            s.push_str(id);
            s.push('=');
            s.push_str(&self.all(id).join(","));
            s.push(';');
        }
        s
    }
}

/// Source of live candidates.
pub trait Lookup {
    /// Candidates of `kind` given what was typed. Never blocks longer than its own budget.
    fn lookup(&self, kind: ValueKind, typed: &Typed) -> Vec<Candidate>;
}

/// No live values at all (tests, or `MM2_COMPLETION_OFFLINE=1`).
pub struct Offline;

impl Lookup for Offline {
    fn lookup(&self, _: ValueKind, _: &Typed) -> Vec<Candidate> {
        Vec::new()
    }
}

/// Fixed answers per kind (tests).
#[derive(Default)]
pub struct Fixed(pub BTreeMap<ValueKind, Vec<Candidate>>);

impl Lookup for Fixed {
    fn lookup(&self, kind: ValueKind, _: &Typed) -> Vec<Candidate> {
        self.0.get(&kind).cloned().unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

/// Complete `words` (every word after the plugin name; the last one is the word under the cursor,
/// empty on a fresh word) against `cmd`.
pub fn complete(cmd: Command, words: &[String], lookup: &dyn Lookup) -> Completion {
    let mut root = cmd;
    root.build();
    let (cur, before) = match words.split_last() {
        Some((c, b)) => (c.as_str(), b),
        None => ("", &[][..]),
    };
    let mut walk = Walk {
        chain: vec![&root],
        typed: Typed::default(),
        positionals: 0,
        pending: None,
        dashdash: false,
    };
    for w in before {
        walk.feed(w);
    }
    walk.complete(cur, lookup)
}

struct Walk<'c> {
    /// Root first, current subcommand last.
    chain: Vec<&'c Command>,
    typed: Typed,
    /// Positionals consumed in the current subcommand.
    positionals: usize,
    /// A flag whose value is the next word.
    pending: Option<&'c Arg>,
    dashdash: bool,
}

fn takes_value(a: &Arg) -> bool {
    a.get_num_args().is_some_and(|r| r.takes_values()) && a.get_action().takes_values()
}

fn positionals(cmd: &Command) -> Vec<&Arg> {
    let mut p: Vec<&Arg> = cmd.get_positionals().collect();
    p.sort_by_key(|a| a.get_index().unwrap_or(usize::MAX));
    p
}

impl<'c> Walk<'c> {
    fn cmd(&self) -> &'c Command {
        self.chain[self.chain.len() - 1]
    }

    fn sub_name(&self) -> &str {
        self.typed.path.last().map(String::as_str).unwrap_or("")
    }

    fn long(&self, name: &str) -> Option<&'c Arg> {
        self.cmd()
            .get_arguments()
            .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
    }

    fn short(&self, c: char) -> Option<&'c Arg> {
        self.cmd()
            .get_arguments()
            .find(|a| a.get_short() == Some(c) || a.get_all_short_aliases().is_some_and(|al| al.contains(&c)))
    }

    fn subcommand(&self, name: &str) -> Option<&'c Command> {
        self.cmd()
            .get_subcommands()
            .find(|s| s.get_name() == name || s.get_all_aliases().any(|a| a == name))
    }

    fn feed(&mut self, w: &str) {
        if let Some(a) = self.pending.take() {
            self.typed.push(a, w);
            return;
        }
        if self.dashdash {
            self.positional(w);
            return;
        }
        if w == "--" {
            self.dashdash = true;
            return;
        }
        if let Some(body) = w.strip_prefix("--") {
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if let Some(a) = self.long(name) {
                match (takes_value(a), value) {
                    (true, Some(v)) => self.typed.push(a, v),
                    (true, None) => self.pending = Some(a),
                    (false, _) => self.typed.push(a, ""),
                }
            }
            return;
        }
        if w.len() > 1 && w.starts_with('-') {
            let chars: Vec<char> = w[1..].chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let Some(a) = self.short(*c) else { break };
                if takes_value(a) {
                    let rest: String = chars[i + 1..].iter().collect();
                    let rest = rest.strip_prefix('=').unwrap_or(&rest).to_string();
                    if rest.is_empty() {
                        self.pending = Some(a);
                    } else {
                        self.typed.push(a, &rest);
                    }
                    break;
                }
                self.typed.push(a, "");
            }
            return;
        }
        if self.positionals == 0
            && let Some(sub) = self.subcommand(w)
        {
            self.chain.push(sub);
            self.typed.path.push(sub.get_name().to_string());
            return;
        }
        self.positional(w);
    }

    fn positional(&mut self, w: &str) {
        let cmd = self.cmd();
        let pos = positionals(cmd);
        let idx = self.positionals.min(pos.len().saturating_sub(1));
        if let Some(a) = pos.get(idx) {
            self.typed.push(a, w);
        }
        self.positionals += 1;
    }

    /// The positional the next word fills, if any is left.
    fn next_positional(&self) -> Option<&'c Arg> {
        let pos = positionals(self.cmd());
        if let Some(a) = pos.get(self.positionals) {
            return Some(*a);
        }
        let last = pos.last()?;
        let many = last.get_num_args().is_some_and(|r| r.max_values() > 1);
        many.then_some(*last)
    }

    fn complete(self, cur: &str, lookup: &dyn Lookup) -> Completion {
        if let Some(a) = self.pending {
            return self.values(a, "", cur, lookup);
        }
        if !self.dashdash {
            if let Some(body) = cur.strip_prefix("--")
                && let Some((name, value)) = body.split_once('=')
            {
                return match self.long(name) {
                    Some(a) if takes_value(a) => self.values(a, &format!("--{name}="), value, lookup),
                    _ => Completion {
                        candidates: vec![],
                        directive: directive::NO_FILE_COMP,
                    },
                };
            }
            if cur.starts_with('-') {
                return self.flags(cur);
            }
        }
        let mut candidates = Vec::new();
        let mut dir = directive::NO_FILE_COMP | directive::KEEP_ORDER;
        let cmd = self.cmd();
        if self.positionals == 0 && !self.dashdash {
            if cmd.get_name() == "help" && self.chain.len() >= 2 {
                let parent = self.chain[self.chain.len() - 2];
                candidates.extend(subcommands(parent).filter(|c| c.value != "help"));
            } else {
                candidates.extend(subcommands(cmd));
            }
        }
        let next = self.next_positional();
        if let Some(a) = next {
            let c = self.values(a, "", cur, lookup);
            if candidates.is_empty() {
                dir = c.directive;
            }
            candidates.extend(c.candidates);
        }
        candidates.retain(|c| c.value.starts_with(cur));
        if candidates.is_empty() && cur.is_empty() && next.is_none() && cmd.get_subcommands().next().is_none()
        {
            // Nothing left to fill: the flags are the only useful thing to offer.
            return self.flags("--");
        }
        Completion {
            candidates,
            directive: dir,
        }
    }

    fn flags(&self, cur: &str) -> Completion {
        let mut out = Vec::new();
        let mut shorts = Vec::new();
        for a in self.cmd().get_arguments() {
            if a.is_hide_set() || a.is_positional() {
                continue;
            }
            let repeatable = matches!(a.get_action(), clap::ArgAction::Append | clap::ArgAction::Count)
                || a.get_value_delimiter().is_some();
            if self.typed.has(a.get_id().as_str()) && !repeatable {
                continue;
            }
            // `status proxmox:aws --<TAB>` does not offer `--all`, which conflicts with it.
            if !a.is_global_set()
                && self
                    .cmd()
                    .get_arg_conflicts_with(a)
                    .iter()
                    .any(|c| self.typed.has(c.get_id().as_str()))
            {
                continue;
            }
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            if let Some(l) = a.get_long() {
                out.push(Candidate::new(format!("--{l}"), help.clone()));
            }
            if let Some(s) = a.get_short() {
                shorts.push(Candidate::new(format!("-{s}"), help));
            }
        }
        if cur == "-" {
            out.extend(shorts);
        }
        out.retain(|c| c.value.starts_with(cur));
        Completion {
            candidates: out,
            directive: directive::NO_FILE_COMP,
        }
    }

    /// Values of `arg`; `prefix` is put back in front of each (`--output=`), `cur` is the value part.
    fn values(&self, arg: &Arg, prefix: &str, cur: &str, lookup: &dyn Lookup) -> Completion {
        // `--connector source,che<TAB>`: complete the last item, keep the others.
        let (mut prefix, cur) = (prefix.to_string(), cur);
        let cur = match arg.get_value_delimiter() {
            Some(d) => match cur.rfind(d) {
                Some(i) => {
                    prefix.push_str(&cur[..=i]);
                    &cur[i + 1..]
                }
                None => cur,
            },
            None => cur,
        };
        let possible: Vec<Candidate> = arg
            .get_possible_values()
            .iter()
            .filter(|p| !p.is_hide_set())
            .map(|p| {
                Candidate::new(
                    p.get_name(),
                    p.get_help().map(|h| h.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        let mut directive = directive::NO_FILE_COMP;
        let mut candidates = if !possible.is_empty() {
            directive |= self::directive::KEEP_ORDER;
            possible
        } else {
            match kind_of(arg, self.sub_name()) {
                Some(ValueKind::Path) => {
                    return Completion {
                        candidates: vec![],
                        directive: self::directive::DEFAULT,
                    };
                }
                Some(ValueKind::Direction) => {
                    direction_forms(lookup.lookup(ValueKind::Direction, &self.typed), cur)
                }
                Some(kind) => lookup.lookup(kind, &self.typed),
                None => vec![],
            }
        };
        candidates.retain(|c| c.value.starts_with(cur));
        for c in &mut candidates {
            c.value.insert_str(0, &prefix);
        }
        Completion {
            candidates,
            directive,
        }
    }
}

fn subcommands(cmd: &Command) -> impl Iterator<Item = Candidate> + '_ {
    cmd.get_subcommands().filter(|s| !s.is_hide_set()).map(|s| {
        Candidate::new(
            s.get_name(),
            s.get_about().map(|a| a.to_string()).unwrap_or_default(),
        )
    })
}

/// Turn `source->target` candidates into spellings that are safe unquoted (see the module docs):
/// `source:target`, else `source-to-target` when that is what the word starts like, else
/// `mm2-source-to-target`.
pub fn direction_forms(dirs: Vec<Candidate>, cur: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    for c in dirs {
        let Ok(d) = crate::direction::parse(&c.value, &[]) else {
            continue;
        };
        let help = if c.help.is_empty() {
            d.to_string()
        } else {
            format!("{d} {}", c.help)
        };
        let forms = [
            d.shell_safe(),
            format!("{}-to-{}", d.source, d.target),
            d.mm2_name(),
        ];
        if let Some(f) = forms.into_iter().find(|f| f.starts_with(cur)) {
            out.push(Candidate::new(f, help));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Entry points for the binaries
// ---------------------------------------------------------------------------------------------

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

/// `kubectl <plugin> completion SHELL [--install [--dir DIR]]`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish, powershell or elvish: print a completion script for the binary called
    /// directly; kubectl: print (or --install) the kubectl_complete-<plugin> shim that makes
    /// `kubectl <plugin> <TAB>` work
    #[arg(value_name = "SHELL", value_parser = ["kubectl", "bash", "zsh", "fish", "powershell", "elvish"])]
    pub shell: String,
    /// With `kubectl`: place kubectl_complete-<plugin> beside the plugin on PATH (idempotent)
    #[arg(long)]
    pub install: bool,
    /// With --install: the directory to place it in (default: where the plugin is found on PATH)
    #[arg(long, value_name = "DIR", requires = "install")]
    pub dir: Option<PathBuf>,
}

/// Run the `completion` subcommand; returns the exit code.
pub fn run(cmd: Command, args: &CompletionArgs, plugin: &str) -> u8 {
    use clap_complete::Shell;
    let shell = match args.shell.as_str() {
        "kubectl" => return kubectl_completion(args, plugin),
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "powershell" => Shell::PowerShell,
        "elvish" => Shell::Elvish,
        other => {
            crate::heprintln!("error: unknown shell '{other}'");
            return 2;
        }
    };
    if args.install {
        crate::heprintln!(
            "error: --install is only for `completion kubectl`; for {} load the script from your shell's startup file",
            args.shell
        );
        return 2;
    }
    let mut cmd = cmd;
    let mut buf = Vec::new();
    let bin = plugin_exe(plugin);
    clap_complete::generate(shell, &mut cmd, bin.clone(), &mut buf);
    if shell == Shell::Bash {
        buf = fix_bash_dashed_bin(String::from_utf8_lossy(&buf).into_owned(), &bin).into_bytes();
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&buf).and_then(|_| stdout.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            crate::heprintln!("error: {e}");
            1
        }
    }
}

/// clap_complete 4.6.11's bash script names the per-subcommand `case` arms after the bin name with
/// `-` turned into `__subcmd__` (`kubectl__subcmd__mm2__subcmd__pause`) but tracks the current
/// command with `-` turned into `__` (`kubectl__mm2__subcmd__pause`), so no arm ever matches for
/// a dashed bin name such as `kubectl-mm2`: only the top level completed. Align the arms.
fn fix_bash_dashed_bin(script: String, bin: &str) -> String {
    if !bin.contains('-') {
        return script;
    }
    let broken = format!("{}__subcmd__", bin.replace('-', "__subcmd__"));
    let fixed = format!("{}__subcmd__", bin.replace('-', "__"));
    script.replace(&broken, &fixed)
}

/// The POSIX sh shim shipped as `completions/kubectl_complete-<plugin>`.
pub fn shim_script(plugin: &str) -> String {
    let exe = plugin_exe(plugin);
    let name = completer_name(plugin);
    format!(
        "#!/bin/sh\n\
         # {name}: kubectl (>= 1.26) runs this when completing `kubectl {plugin} ...`.\n\
         # It must be executable and on PATH; {exe} answers in kubectl's __complete protocol.\n\
         # Installed by `kubectl {plugin} completion kubectl --install`, or copy it next to {exe}.\n\
         d=${{0%/*}}\n\
         if [ \"$d\" != \"$0\" ] && [ -x \"$d/{exe}\" ]; then exec \"$d/{exe}\" __complete \"$@\"; fi\n\
         exec {exe} __complete \"$@\"\n"
    )
}

fn kubectl_completion(args: &CompletionArgs, plugin: &str) -> u8 {
    if !args.install {
        crate::hprint!("{}", shim_script(plugin));
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            crate::heprintln!(
                "\n# Save this as an executable `{}` on PATH, or run `kubectl {plugin} completion kubectl --install`.",
                completer_name(plugin)
            );
        }
        return 0;
    }
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let plugin_path = locate_plugin(&argv0, plugin);
    let dir = match args.dir.clone().or_else(|| {
        plugin_path
            .as_ref()
            .and_then(|p| p.parent().map(Path::to_path_buf))
    }) {
        Some(d) => d,
        None => {
            crate::heprintln!(
                "error: cannot tell where {} is on PATH; pass --dir DIR",
                plugin_exe(plugin)
            );
            return 1;
        }
    };
    match install_completer(&dir, plugin, plugin_path.as_deref()) {
        Ok((path, changed)) => {
            if changed {
                crate::hprintln!("installed {}", path.display());
            } else {
                crate::hprintln!("already installed: {}", path.display());
            }
            if !on_path(&dir) {
                crate::heprintln!(
                    "warning: {} is not on PATH; kubectl only finds {} there",
                    dir.display(),
                    completer_name(plugin)
                );
            }
            crate::hprintln!(
                "kubectl now completes `kubectl {plugin} <TAB>` once kubectl's own completion is loaded (e.g. `source <(kubectl completion bash)`)"
            );
            0
        }
        Err(e) => {
            crate::heprintln!("error: cannot install into {}: {e}", dir.display());
            1
        }
    }
}

/// Where the plugin runs from, without resolving symlinks (krew's `~/.krew/bin/kubectl-mm2` is a
/// symlink into a versioned store directory that is not on PATH).
pub fn locate_plugin(argv0: &std::ffi::OsStr, plugin: &str) -> Option<PathBuf> {
    let p = Path::new(argv0);
    if p.components().count() > 1 {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        if abs
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("kubectl-"))
        {
            return Some(abs);
        }
    }
    let exe = format!("{}{}", plugin_exe(plugin), std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(&exe))
        .find(|p| p.is_file())
        .or_else(|| std::env::current_exe().ok())
}

fn on_path(dir: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let want = canon(dir);
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| canon(&d) == want)
}

/// Place `kubectl_complete-<plugin>` in `dir`: a relative symlink to the plugin when it sits in the
/// same directory (survives krew upgrades, which re-point the plugin's own symlink), else a
/// symlink to `plugin_path`. Returns the path and whether anything changed. An existing file that
/// is neither our symlink nor our shim is left alone.
pub fn install_completer(
    dir: &Path,
    plugin: &str,
    plugin_path: Option<&Path>,
) -> std::io::Result<(PathBuf, bool)> {
    let exe = format!("{}{}", plugin_exe(plugin), std::env::consts::EXE_SUFFIX);
    let target: PathBuf = if dir.join(&exe).exists() {
        PathBuf::from(&exe)
    } else {
        match plugin_path {
            Some(p) if p.is_absolute() => p.to_path_buf(),
            Some(p) => std::env::current_dir()?.join(p),
            None => std::env::current_exe()?,
        }
    };
    std::fs::create_dir_all(dir)?;
    install_link(dir, plugin, &target)
}

#[cfg(unix)]
fn install_link(dir: &Path, plugin: &str, target: &Path) -> std::io::Result<(PathBuf, bool)> {
    let link = dir.join(completer_name(plugin));
    match std::fs::symlink_metadata(&link) {
        Ok(m) if m.file_type().is_symlink() => {
            if std::fs::read_link(&link)? == target {
                return Ok((link, false));
            }
        }
        Ok(_) => {
            let text = std::fs::read_to_string(&link).unwrap_or_default();
            if text == shim_script(plugin) {
                return Ok((link, false));
            }
            if !text.contains("__complete") {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a completion shim; remove it first",
                        link.display()
                    ),
                ));
            }
        }
        Err(_) => {}
    }
    // Replace atomically: make the new link beside it, then rename over.
    let tmp = dir.join(format!(".{}.tmp{}", completer_name(plugin), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    Ok((link, true))
}

#[cfg(not(unix))]
fn install_link(dir: &Path, plugin: &str, target: &Path) -> std::io::Result<(PathBuf, bool)> {
    // Windows: kubectl finds `kubectl_complete-mm2.cmd` through PATHEXT.
    let link = dir.join(format!("{}.cmd", completer_name(plugin)));
    let body = format!("@\"{}\" __complete %*\r\n", dir.join(target).display());
    if std::fs::read_to_string(&link).is_ok_and(|t| t == body) {
        return Ok((link, false));
    }
    std::fs::write(&link, body)?;
    Ok((link, true))
}

// ---------------------------------------------------------------------------------------------
// Live candidates: clusters under a deadline, answers cached on disk
// ---------------------------------------------------------------------------------------------

/// Live lookups against the kubeconfig's clusters.
pub struct Live {
    /// Per-context budget.
    pub timeout: Duration,
    pub cache: Cache,
}

impl Live {
    /// Defaults, with `MM2_COMPLETION_TIMEOUT_MS` and `MM2_COMPLETION_TTL` (seconds) overrides.
    pub fn from_env() -> Self {
        let timeout = env_u64("MM2_COMPLETION_TIMEOUT_MS")
            .map(Duration::from_millis)
            .unwrap_or(LIVE_TIMEOUT)
            .min(LIVE_TIMEOUT);
        Live {
            timeout,
            cache: Cache::from_env(),
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

impl Lookup for Live {
    fn lookup(&self, kind: ValueKind, typed: &Typed) -> Vec<Candidate> {
        match kind {
            // Local file reads: cheap, never cached.
            ValueKind::Context => local_contexts(typed),
            ValueKind::ClusterEntry => cluster_entries(typed),
            ValueKind::Path => vec![],
            _ => {
                let key = cache_key(kind, typed);
                let (items, ok) = match self.cache.get(&key) {
                    Some(hit) => hit,
                    None => {
                        let (items, ok) = match live(kind, typed, self.timeout) {
                            Some(items) => (items, true),
                            None => (vec![], false),
                        };
                        self.cache.put(&key, &items, ok);
                        (items, ok)
                    }
                };
                // No cluster answered: a guess from the names beats an empty list.
                if !ok && kind == ValueKind::Direction {
                    return guessed_directions(typed);
                }
                items
            }
        }
    }
}

fn kubeconfigs(typed: &Typed) -> Option<Kubeconfigs> {
    Kubeconfigs::load(typed.get("kubeconfig").map(Path::new)).ok()
}

fn request(typed: &Typed) -> TopologyRequest {
    TopologyRequest {
        contexts: typed.all("context"),
        clusters: typed
            .all("clusters")
            .iter()
            .filter_map(|c| parse_cluster_flag(c).ok())
            .collect(),
        namespace: typed.get("namespace").map(String::from),
        all_namespaces: typed.has("all_namespaces"),
        config: ClustersetConfig::load(typed.get("clusterset_config").map(Path::new))
            .ok()
            .flatten(),
    }
}

fn local_contexts(typed: &Typed) -> Vec<Candidate> {
    let Some(kc) = kubeconfigs(typed) else {
        return vec![];
    };
    let current = kc.current_context();
    kc.contexts()
        .into_iter()
        .map(|c| {
            let mut help = kc.server_of(&c).unwrap_or_default();
            if current.as_deref() == Some(c.as_str()) {
                help = format!("current; {help}");
            }
            Candidate::new(c, help)
        })
        .collect()
}

/// Aliases a set of context names suggests: `rciis-aws`, `rciis-proxmox` → `aws`, `proxmox`.
pub fn aliases_from_contexts(contexts: &[String]) -> Vec<(String, String)> {
    let cut = |c: &str| -> String {
        c.rsplit(['-', '_', '@', '/', '.', ':'])
            .find(|s| !s.is_empty())
            .unwrap_or(c)
            .to_string()
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for c in contexts {
        let a = cut(c);
        if !out.iter().any(|(x, _)| *x == a) {
            out.push((a, c.clone()));
        }
    }
    out
}

fn cluster_entries(typed: &Typed) -> Vec<Candidate> {
    let Some(kc) = kubeconfigs(typed) else {
        return vec![];
    };
    aliases_from_contexts(&kc.contexts())
        .into_iter()
        .map(|(a, c)| Candidate::new(format!("{a}={c}"), format!("alias {a} for context {c}")))
        .collect()
}

/// Offline fallback: every ordered pair of the aliases the flags, the config file or the context
/// names suggest (only for small clustersets; a guess is better than nothing, not than noise).
fn guessed_directions(typed: &Typed) -> Vec<Candidate> {
    let req = request(typed);
    let mut aliases: Vec<String> = req.clusters.iter().map(|c| c.alias.clone()).collect();
    if aliases.is_empty()
        && let Some(cfg) = &req.config
    {
        aliases = cfg.clusters.iter().map(|c| c.alias.clone()).collect();
    }
    if aliases.is_empty() {
        let Some(kc) = kubeconfigs(typed) else {
            return vec![];
        };
        let contexts = if req.contexts.is_empty() {
            kc.contexts()
        } else {
            req.contexts.clone()
        };
        aliases = aliases_from_contexts(&contexts)
            .into_iter()
            .map(|(a, _)| a)
            .collect();
    }
    if aliases.len() < 2 || aliases.len() > 6 {
        return vec![];
    }
    let mut out = Vec::new();
    for s in &aliases {
        for t in &aliases {
            if s != t {
                out.push(Candidate::new(format!("{s}->{t}"), "(offline guess)"));
            }
        }
    }
    out
}

fn cache_key(kind: ValueKind, typed: &Typed) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(kind.key());
    h.update([0]);
    h.update(typed.selection());
    h.update([0]);
    for var in ["KUBECONFIG", "MM2_CLUSTERSET_CONFIG", "XDG_CONFIG_HOME", "HOME"] {
        h.update(
            std::env::var_os(var)
                .unwrap_or_default()
                .to_string_lossy()
                .as_bytes(),
        );
        h.update([0]);
    }
    // A rewritten kubeconfig (new cluster, new credentials) must not reuse old answers.
    let mut files: Vec<PathBuf> = typed.all("kubeconfig").into_iter().map(PathBuf::from).collect();
    if files.is_empty() {
        files = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(v) => std::env::split_paths(&v).collect(),
            None => vec![crate::clients::default_kubeconfig_path()],
        };
    }
    for f in files {
        let mtime = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        h.update(f.to_string_lossy().as_bytes());
        h.update(mtime.to_le_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", kind.key())
}

/// Small on-disk cache of live answers.
pub struct Cache {
    pub dir: Option<PathBuf>,
    pub ttl: Duration,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    at: u64,
    ok: bool,
    items: Vec<Candidate>,
}

impl Cache {
    /// `$XDG_CACHE_HOME/kubectl-mm2/completion` (else `~/.cache/...`), TTL from `MM2_COMPLETION_TTL`.
    pub fn from_env() -> Self {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        Cache {
            dir: base.map(|b| b.join("kubectl-mm2").join("completion")),
            ttl: env_u64("MM2_COMPLETION_TTL")
                .map(Duration::from_secs)
                .unwrap_or(CACHE_TTL),
        }
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// A fresh entry: its items and whether the lookup succeeded.
    pub fn get(&self, key: &str) -> Option<(Vec<Candidate>, bool)> {
        if self.ttl.is_zero() {
            return None;
        }
        let text = std::fs::read_to_string(self.dir.as_ref()?.join(key)).ok()?;
        let e: Entry = serde_json::from_str(&text).ok()?;
        let ttl = if e.ok { self.ttl } else { self.ttl.min(FAILED_TTL) };
        let age = Self::now().checked_sub(e.at)?;
        (age < ttl.as_secs()).then_some((e.items, e.ok))
    }

    pub fn put(&self, key: &str, items: &[Candidate], ok: bool) {
        if self.ttl.is_zero() {
            return;
        }
        let Some(dir) = &self.dir else { return };
        let entry = Entry {
            at: Self::now(),
            ok,
            items: items.to_vec(),
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".{key}.{}", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(key));
        }
    }
}

/// Run one live lookup on a throw-away current-thread runtime, capped at 1.5× the per-context
/// budget. `None` when it failed or timed out everywhere.
fn live(kind: ValueKind, typed: &Typed, timeout: Duration) -> Option<Vec<Candidate>> {
    let kc = kubeconfigs(typed)?;
    let req = request(typed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let cap = timeout + timeout / 2;
    let out = rt.block_on(async {
        tokio::time::timeout(cap, live_async(kind, typed, &kc, &req, timeout))
            .await
            .ok()
            .flatten()
    });
    // Never wait for stuck DNS resolutions or exec credential plugins: the shell is waiting.
    rt.shutdown_background();
    out
}

/// The contexts a namespaced lookup asks: `--from` (secrets), else `--context`, else the current one.
fn lookup_contexts(kind: ValueKind, typed: &Typed, kc: &Kubeconfigs) -> Vec<String> {
    if kind == ValueKind::Secret
        && let Some(f) = typed.get("from")
    {
        return vec![f.to_string()];
    }
    let explicit = typed.all("context");
    if !explicit.is_empty() {
        return explicit;
    }
    kc.current_context().into_iter().collect()
}

async fn live_async(
    kind: ValueKind,
    typed: &Typed,
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    timeout: Duration,
) -> Option<Vec<Candidate>> {
    use crate::resources::{api_resource, mcs, strimzi};
    use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
    use kube::api::{Api, ListParams};

    if kind == ValueKind::Direction {
        let topo = crate::topology::discover(kc, req, timeout).await.ok()?;
        // Nothing found and something failed: a failure (cached briefly), not "no directions".
        if topo.routes.is_empty() && !topo.problems.is_empty() {
            return None;
        }
        return Some(
            topo.directions()
                .into_iter()
                .map(|d| {
                    let where_ = topo
                        .routes_for(&d)
                        .first()
                        .map(|r| format!("({} in {})", r.mm2, r.context))
                        .unwrap_or_else(|| "(cluster unreachable)".into());
                    Candidate::new(d.to_string(), where_)
                })
                .collect(),
        );
    }

    let contexts = if kind == ValueKind::Export {
        crate::topology::candidate_contexts(kc, req)
            .ok()?
            .into_iter()
            .map(|(c, _)| c)
            .collect()
    } else {
        lookup_contexts(kind, typed, kc)
    };
    let connected = kc.connect_all(&contexts, timeout).await;
    let clients: Vec<_> = connected.into_iter().filter_map(|(_, r)| r.ok()).collect();
    if clients.is_empty() {
        return None;
    }
    let results = crate::clients::fan_out(&clients, |cc| async move {
        let ns = crate::topology::namespace_for(kc, req, &cc.context)
            .unwrap_or_else(|| cc.default_namespace.clone());
        let names: Vec<(String, String)> = match kind {
            ValueKind::Namespace => {
                let api: Api<Namespace> = Api::all(cc.client.clone());
                let list = cc
                    .call(
                        crate::clients::Op::new("list", "namespaces", "Namespace"),
                        api.list_metadata(&ListParams::default()),
                    )
                    .await?;
                list.items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .map(|n| (n, String::new()))
                    .collect()
            }
            ValueKind::Secret => {
                let api: Api<Secret> = Api::namespaced(cc.client.clone(), &ns);
                let list = cc
                    .call(
                        crate::clients::Op::new("list", "secrets", "Secret").ns(&ns),
                        api.list_metadata(&ListParams::default()),
                    )
                    .await?;
                list.items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .filter(|n| !n.starts_with("default-token-"))
                    .map(|n| (n, format!("Secret in {ns}")))
                    .collect()
            }
            ValueKind::Service => {
                let api: Api<Service> = Api::namespaced(cc.client.clone(), &ns);
                let list = cc
                    .call(
                        crate::clients::Op::new("list", "services", "Service").ns(&ns),
                        api.list_metadata(&ListParams::default()),
                    )
                    .await?;
                list.items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .map(|n| (n, format!("Service in {ns}")))
                    .collect()
            }
            ValueKind::Kafka => {
                let ar = api_resource(
                    strimzi::GROUP,
                    "v1beta2",
                    strimzi::KAFKA_KIND,
                    strimzi::KAFKA_PLURAL,
                );
                cc.list(&ar, &ns)
                    .await?
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .map(|n| (n, format!("Kafka in {ns}")))
                    .collect()
            }
            ValueKind::Export => {
                let mut out = Vec::new();
                for (k, p, what) in [
                    (mcs::EXPORT_KIND, mcs::EXPORT_PLURAL, "exported"),
                    (mcs::IMPORT_KIND, mcs::IMPORT_PLURAL, "imported"),
                ] {
                    let ar = api_resource(mcs::GROUP, mcs::VERSION, k, p);
                    if let Ok(items) = cc.list(&ar, &ns).await {
                        out.extend(
                            items
                                .into_iter()
                                .filter_map(|o| o.metadata.name)
                                .map(|n| (n, format!("{what} in {ns}"))),
                        );
                    }
                }
                out
            }
            _ => vec![],
        };
        Ok(names)
    })
    .await;
    let mut out: Vec<Candidate> = Vec::new();
    let mut any_ok = false;
    for (ctx, r) in results {
        let Ok(names) = r else { continue };
        any_ok = true;
        for (n, help) in names {
            match out.iter_mut().find(|c| c.value == n) {
                Some(c) => {
                    if !c.help.contains(&ctx) {
                        c.help.push_str(&format!(", {ctx}"));
                    }
                }
                None => {
                    let help = if help.is_empty() {
                        format!("in {ctx}")
                    } else {
                        format!("{help} of {ctx}")
                    };
                    out.push(Candidate::new(n, help));
                }
            }
        }
    }
    out.sort_by(|a, b| a.value.cmp(&b.value));
    any_ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Parser, Subcommand};

    #[derive(Debug, Parser)]
    #[command(name = "kubectl mm2", bin_name = "kubectl mm2", version)]
    struct Cli {
        #[command(flatten)]
        global: crate::cli::GlobalArgs,
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(Debug, Subcommand)]
    enum Cmd {
        /// Dense health report per replication direction
        Status {
            direction: Option<String>,
            #[arg(long, conflicts_with = "direction")]
            all: bool,
            #[arg(long)]
            live: bool,
        },
        /// Pause the connectors of a direction
        Pause {
            direction: Option<String>,
            #[arg(long, value_delimiter = ',', value_parser = ["source", "checkpoint", "heartbeat", "all"])]
            connector: Vec<String>,
        },
        /// Copy a Secret
        CopySecret {
            name: Option<String>,
            #[arg(long, value_name = "CONTEXT")]
            from: Option<String>,
        },
        /// Shell completion
        Completion(CompletionArgs),
    }

    fn words(s: &str) -> Vec<String> {
        let mut w: Vec<String> = s.split(' ').map(String::from).collect();
        if s.is_empty() {
            w = vec![String::new()];
        }
        w
    }

    fn run(line: &str, lookup: &dyn Lookup) -> Completion {
        complete(<Cli as clap::CommandFactory>::command(), &words(line), lookup)
    }

    fn fixed() -> Fixed {
        let mut m = BTreeMap::new();
        m.insert(
            ValueKind::Direction,
            vec![
                Candidate::new("aws->proxmox", "(mm2-aws-to-proxmox in rciis-proxmox)"),
                Candidate::new("proxmox->aws", "(mm2-proxmox-to-aws in rciis-aws)"),
            ],
        );
        m.insert(
            ValueKind::Context,
            vec![
                Candidate::new("rciis-aws", ""),
                Candidate::new("rciis-proxmox", ""),
            ],
        );
        m.insert(ValueKind::Secret, vec![Candidate::new("mm2-user", "")]);
        Fixed(m)
    }

    #[test]
    fn subcommands_in_order_with_about() {
        let c = run("", &Offline);
        assert_eq!(
            c.values(),
            vec!["status", "pause", "copy-secret", "completion", "help"]
        );
        assert_eq!(
            c.candidates[0].help,
            "Dense health report per replication direction"
        );
        assert_eq!(c.directive, directive::NO_FILE_COMP | directive::KEEP_ORDER);
        assert_eq!(run("pa", &Offline).values(), vec!["pause"]);
        assert!(run("help ", &Offline).values().contains(&"status"));
    }

    #[test]
    fn flags_only_after_a_dash_and_not_twice() {
        let c = run("pause --", &Offline);
        for f in ["--connector", "--context", "--namespace", "--output", "--help"] {
            assert!(c.values().contains(&f), "{f} missing from {:?}", c.values());
        }
        let c = run("pause -o json --", &Offline);
        assert!(!c.values().contains(&"--output"));
        assert!(run("pause -", &Offline).values().contains(&"-n"));
        assert_eq!(
            run("pause --con", &Offline).values(),
            vec!["--connector", "--context"]
        );
    }

    #[test]
    fn flag_values_static() {
        assert_eq!(
            run("-o ", &Offline).values(),
            vec!["table", "wide", "json", "yaml"]
        );
        assert_eq!(run("status -o j", &Offline).values(), vec!["json"]);
        assert_eq!(run("status --output=y", &Offline).values(), vec!["--output=yaml"]);
        assert_eq!(
            run("pause --connector ", &Offline).values(),
            vec!["source", "checkpoint", "heartbeat", "all"]
        );
        assert_eq!(
            run("pause --connector source,he", &Offline).values(),
            vec!["source,heartbeat"]
        );
        assert_eq!(run("status --dry-run s", &Offline).values(), vec!["server"]);
        let c = run("status --kubeconfig ", &Offline);
        assert!(c.candidates.is_empty());
        assert_eq!(
            c.directive,
            directive::DEFAULT,
            "paths fall back to the shell's files"
        );
        assert_eq!(
            run("completion ", &Offline).values(),
            vec!["kubectl", "bash", "zsh", "fish", "powershell", "elvish"]
        );
    }

    #[test]
    fn directions_are_never_shell_redirects() {
        let l = fixed();
        let c = run("pause ", &l);
        assert_eq!(c.values(), vec!["aws:proxmox", "proxmox:aws"]);
        assert!(c.candidates[1].help.starts_with("proxmox->aws"));
        assert_eq!(run("pause prox", &l).values(), vec!["proxmox:aws"]);
        assert_eq!(run("pause proxmox-", &l).values(), vec!["proxmox-to-aws"]);
        assert_eq!(run("pause mm2-a", &l).values(), vec!["mm2-aws-to-proxmox"]);
        assert_eq!(
            run("status -n rciis-prod --context rciis-aws ", &l)
                .values()
                .len(),
            2
        );
        for c in run("pause ", &l).candidates {
            assert!(!c.value.contains('>'), "{c:?}");
        }
    }

    #[test]
    fn live_kinds_by_id_and_value_name() {
        let l = fixed();
        assert_eq!(run("--context ", &l).values(), vec!["rciis-aws", "rciis-proxmox"]);
        assert_eq!(
            run("status --context rciis-aws,rciis-p", &l).values(),
            vec!["rciis-aws,rciis-proxmox"]
        );
        assert_eq!(run("copy-secret --from rciis-a", &l).values(), vec!["rciis-aws"]);
        assert_eq!(run("copy-secret ", &l).values(), vec!["mm2-user"]);
        // Positional filled: offer the flags instead, minus the conflicting ones.
        assert!(run("pause proxmox:aws ", &l).values().contains(&"--connector"));
        let c = run("status proxmox:aws --", &l);
        assert!(
            c.values().contains(&"--live") && !c.values().contains(&"--all"),
            "{:?}",
            c.values()
        );
    }

    #[test]
    fn typed_values_reach_the_lookup() {
        struct Spy(std::cell::RefCell<Vec<(ValueKind, Typed)>>);
        impl Lookup for Spy {
            fn lookup(&self, kind: ValueKind, typed: &Typed) -> Vec<Candidate> {
                self.0.borrow_mut().push((kind, typed.clone()));
                vec![]
            }
        }
        let spy = Spy(Default::default());
        run(
            "--kubeconfig /k -n kafka copy-secret --from=rciis-aws --context a,b -A ",
            &spy,
        );
        let calls = spy.0.borrow();
        let (kind, t) = &calls[0];
        assert_eq!(*kind, ValueKind::Secret);
        assert_eq!(t.path, vec!["copy-secret"]);
        assert_eq!(t.get("kubeconfig"), Some("/k"));
        assert_eq!(t.get("namespace"), Some("kafka"));
        assert_eq!(t.get("from"), Some("rciis-aws"));
        assert_eq!(t.all("context"), vec!["a", "b"]);
        assert!(t.has("all_namespaces"));
    }

    #[test]
    fn wire_format() {
        let c = Completion {
            candidates: vec![
                Candidate::new("proxmox:aws", "proxmox->aws\tx\nmore"),
                Candidate::new("b", ""),
            ],
            directive: 36,
        };
        assert_eq!(c.render(true), "proxmox:aws\tproxmox->aws x\nb\n:36\n");
        assert_eq!(c.render(false), "proxmox:aws\nb\n:36\n");
    }

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

    #[test]
    fn committed_shims_match_the_generator() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("completions");
        for plugin in ["mm2", "clusterset"] {
            let path = root.join(completer_name(plugin));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(text, shim_script(plugin), "regenerate {}", path.display());
        }
    }

    #[test]
    fn aliases_guessed_from_context_names() {
        let ctx = vec![
            "rciis-aws".to_string(),
            "rciis-proxmox".into(),
            "viewer@rciis-aws".into(),
        ];
        assert_eq!(
            aliases_from_contexts(&ctx),
            vec![
                ("aws".to_string(), "rciis-aws".to_string()),
                ("proxmox".into(), "rciis-proxmox".into())
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn install_is_idempotent_and_relative() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("kubectl-mm2");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let (link, changed) = install_completer(dir.path(), "mm2", Some(&exe)).unwrap();
        assert!(changed);
        assert_eq!(std::fs::read_link(&link).unwrap(), PathBuf::from("kubectl-mm2"));
        let (_, changed) = install_completer(dir.path(), "mm2", Some(&exe)).unwrap();
        assert!(!changed);
        // Somebody else's file is left alone.
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, "#!/bin/sh\necho mine\n").unwrap();
        assert!(install_completer(dir.path(), "mm2", Some(&exe)).is_err());
    }

    #[test]
    fn cache_round_trip_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: Some(dir.path().to_path_buf()),
            ttl: Duration::from_secs(30),
        };
        let items = vec![Candidate::new("a", "b")];
        cache.put("k", &items, true);
        assert_eq!(cache.get("k"), Some((items.clone(), true)));
        let old = Entry {
            at: Cache::now() - 31,
            ok: true,
            items,
        };
        std::fs::write(dir.path().join("k"), serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(cache.get("k"), None);
        let failed = Entry {
            at: Cache::now() - 11,
            ok: false,
            items: vec![],
        };
        std::fs::write(dir.path().join("k"), serde_json::to_string(&failed).unwrap()).unwrap();
        assert_eq!(
            cache.get("k"),
            None,
            "failures are remembered for FAILED_TTL only"
        );
    }
}
