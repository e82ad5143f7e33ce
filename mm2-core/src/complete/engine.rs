//! The engine: given the words typed so far, what fits the word under the cursor. It walks the
//! clap [`Command`] like clap's parser does (subcommands, `--flag value`, `--flag=value`, `-abc`
//! clusters, `--`) and never touches the network itself; live values come through [`Lookup`].

use super::{Candidate, Completion, Lookup, Typed, ValueKind, directive};
use clap::builder::ValueHint;
use clap::{Arg, Command};

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
        ("resolve", "name") => ValueKind::Export,
        (_, "service") => ValueKind::Service,
        (_, "kafka") => ValueKind::Kafka,
        _ => return None,
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::complete::{CompletionArgs, Fixed, Offline};
    use clap::{Parser, Subcommand};
    use std::collections::BTreeMap;

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
}
