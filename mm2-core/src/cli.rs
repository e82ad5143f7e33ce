//! What both plugins share on the command line: kubectl's global flags, building the topology
//! request from them, TTY decisions and error reporting with hints and exit codes.

use crate::clients::{Kubeconfigs, parse_timeout};
use crate::error::{Error, Result};
use crate::output::{OutputFormat, Palette};
use crate::topology::{ClusterEntry, ClustersetConfig, TopologyRequest, parse_cluster_flag};
use crate::write::DryRun;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// kubectl's global flags (plus the clusterset ones), accepted before or after the subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, which may list several files, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Only use these kube contexts (repeatable or comma-separated; default: every context of the clusterset)
    #[arg(long, global = true, value_name = "CONTEXT", value_delimiter = ',')]
    pub context: Vec<String>,

    /// Map a cluster alias to a kube context (repeatable), e.g. --cluster aws=rciis-aws
    #[arg(long = "cluster", global = true, value_name = "ALIAS=CONTEXT", value_parser = parse_cluster_flag)]
    pub clusters: Vec<ClusterEntry>,

    /// Clusterset config file (default: $XDG_CONFIG_HOME/kubectl-mm2/clusterset.yaml)
    #[arg(long, global = true, value_name = "PATH", env = "MM2_CLUSTERSET_CONFIG")]
    pub clusterset_config: Option<PathBuf>,

    /// Namespace (default: the config file's, else each context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Look in all namespaces
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,

    /// Output format
    #[arg(
        short = 'o',
        long,
        global = true,
        value_name = "FORMAT",
        default_value = "table",
        value_enum
    )]
    pub output: OutputFormat,

    /// How long to wait: for each cluster to answer, and for the operator to converge (e.g. 30s, 2m)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Only print what would be done (client), or have the server validate it without persisting (server)
    #[arg(long, global = true, value_name = "MODE", num_args = 0..=1, default_missing_value = "client",
          default_value = "none", value_enum)]
    pub dry_run: DryRun,

    /// Answer yes to every confirmation (required for risky changes when not on a terminal)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// More detail on stderr (repeat for more)
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The kubeconfig as selected by the flags and environment.
    pub fn kubeconfigs(&self) -> Result<Kubeconfigs> {
        Kubeconfigs::load(self.kubeconfig.as_deref())
    }

    /// The topology request these flags describe.
    pub fn topology_request(&self) -> Result<TopologyRequest> {
        Ok(TopologyRequest {
            contexts: self.context.clone(),
            clusters: self.clusters.clone(),
            namespace: self.namespace.clone(),
            all_namespaces: self.all_namespaces,
            config: ClustersetConfig::load(self.clusterset_config.as_deref())?,
        })
    }

    /// `--timeout`, or the command's default.
    pub fn timeout_or(&self, default: Duration) -> Duration {
        self.timeout.unwrap_or(default)
    }
}

/// Is a human at the keyboard? Both stdin and stderr must be terminals (prompts read one and
/// draw on the other), and CI must not be set.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty())
}

/// Where stdout goes when it is a regular file (`/proc/self/fd/1`), to confirm a shell redirect.
pub fn stdout_file() -> Option<PathBuf> {
    let p = std::fs::read_link("/proc/self/fd/1").ok()?;
    std::fs::metadata(&p).ok().filter(|m| m.is_file()).map(|_| p)
}

/// Print an error the way every command does: what failed, on which context, what to do.
pub fn report_error(err: &Error) -> u8 {
    let pal = Palette::for_stderr();
    crate::heprintln!("{} {err}", pal.bad("error:"));
    if let Error::Direction(crate::direction::DirectionError::ShellRedirect { .. }) = err
        && let Some(f) = stdout_file()
    {
        crate::heprintln!(
            "{} stdout of this command is the file {}",
            pal.warn("note:"),
            f.display()
        );
    }
    if let Some(h) = err.hint() {
        for (i, line) in h.lines().enumerate() {
            if i == 0 {
                crate::heprintln!("{} {line}", pal.warn("hint:"));
            } else {
                crate::heprintln!("      {line}");
            }
        }
    }
    err.exit_code()
}

/// Ask for confirmation on a terminal; elsewhere demand `--yes`.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive() {
        return Err(Error::Refused {
            reason: format!("{question} — confirmation needed, but there is no terminal to ask on"),
            hint: "re-run with --yes to confirm".into(),
        });
    }
    let ok = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| Error::Usage(e.to_string()))?;
    if ok {
        Ok(())
    } else {
        Err(Error::Refused {
            reason: "aborted".into(),
            hint: String::new(),
        })
    }
}

/// Catch the unquoted-`>` shell trap before acting: `proxmox-` can only be the left half of
/// `proxmox->aws`. The target alias is the name of the file stdout went to when it is a regular
/// file, else the peer the clusterset knows (a quick, best-effort discovery).
pub async fn direction_precheck(g: &GlobalArgs, arg: Option<&str>) -> Result<()> {
    use crate::direction::DirectionError;
    let Some(arg) = arg else { return Ok(()) };
    // A usage error needs no cluster: syntax is checked before anything is contacted (aliases
    // are checked once the clusterset is known).
    let (got, alias, file) = match crate::direction::parse(arg, &[]) {
        Ok(_) => return Ok(()),
        Err(DirectionError::ShellRedirect { got, alias, file }) => (got, alias, file),
        Err(e) => return Err(Error::Direction(e)),
    };
    // The file bash created is named after the target alias; a file the user redirected to on
    // purpose (`> status.txt`) is not something to suggest deleting.
    let alias_like = |f: &str| {
        !f.is_empty()
            && f.len() <= 63
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !f.starts_with('-')
    };
    let mut file = file.or_else(|| {
        stdout_file()
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .filter(|f| alias_like(f))
    });
    if file.is_none()
        && let (Ok(kc), Ok(req)) = (g.kubeconfigs(), g.topology_request())
        && let Ok(topo) = crate::topology::discover(&kc, &req, crate::timeouts::SHELL_TRAP_HINT).await
        && let Err(DirectionError::ShellRedirect { file: f, .. }) =
            crate::direction::parse(arg, &topo.aliases())
    {
        file = f;
    }
    Err(Error::Direction(DirectionError::ShellRedirect {
        got,
        alias,
        file,
    }))
}

/// Discover the clusterset for a command that acts on it: every context asked concurrently under
/// `--timeout` (at most `read_timeout` each); an error when no context could be used.
pub async fn discover(g: &GlobalArgs, read_timeout: Duration) -> Result<crate::topology::Topology> {
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let topo = crate::topology::discover(&kc, &req, g.timeout_or(read_timeout).min(read_timeout)).await?;
    match topo.unusable() {
        Some(e) => Err(e),
        None => Ok(topo),
    }
}

/// Run a command's future on a small runtime and turn its code into the process exit code.
/// Two workers: the work is I/O across a handful of clusters, and startup must stay cheap.
pub fn block_on<F: std::future::Future<Output = u8>>(fut: F) -> std::process::ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => std::process::ExitCode::from(rt.block_on(fut)),
        Err(e) => {
            crate::heprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::from(crate::error::exit::ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The global flags as a user types them, parsed the way both plugins parse them.
    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        g: GlobalArgs,
    }

    fn parse(args: &[&str]) -> Result<GlobalArgs, String> {
        Cmd::try_parse_from(std::iter::once("kubectl-mm2").chain(args.iter().copied()))
            .map(|c| c.g)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn dry_run_takes_kubectls_values_and_its_old_booleans() {
        assert_eq!(parse(&[]).unwrap().dry_run, DryRun::None);
        assert_eq!(parse(&["--dry-run"]).unwrap().dry_run, DryRun::Client);
        assert_eq!(parse(&["--dry-run=server"]).unwrap().dry_run, DryRun::Server);
        assert_eq!(parse(&["--dry-run=none"]).unwrap().dry_run, DryRun::None);
        assert_eq!(parse(&["--dry-run=true"]).unwrap().dry_run, DryRun::Client);
        assert_eq!(parse(&["--dry-run=false"]).unwrap().dry_run, DryRun::None);
        let e = parse(&["--dry-run=maybe"]).unwrap_err();
        assert!(
            e.contains("none") && e.contains("client") && e.contains("server"),
            "{e}"
        );
    }

    #[test]
    fn output_takes_the_four_formats_and_names_them_on_a_typo() {
        assert_eq!(parse(&[]).unwrap().output, OutputFormat::Table);
        assert_eq!(parse(&["-o", "wide"]).unwrap().output, OutputFormat::Wide);
        assert_eq!(parse(&["-o", "json"]).unwrap().output, OutputFormat::Json);
        assert_eq!(parse(&["--output=yaml"]).unwrap().output, OutputFormat::Yaml);
        let e = parse(&["-o", "xml"]).unwrap_err();
        assert!(e.contains("table, wide, json, yaml"), "{e}");
    }
}
