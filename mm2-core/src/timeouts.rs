//! Every default time limit of both plugins, in one table (README "Timeouts" shows the same).
//! `--timeout` replaces the default of the command it is given to; the caps below it stay.

use std::time::Duration;

/// A read-only command (status, lag, doctor, convert from the clusters, resolve): how long each
/// context may take to answer.
pub const READ: Duration = Duration::from_secs(10);
/// `report`: each call it makes (listing, proxy scrape, log read).
pub const REPORT_CALL: Duration = Duration::from_secs(10);
/// Reading the clusterset before a write (pause, resume, scale, restart, offsets): a little more
/// patience than a read, since a write depends on it. Capped by `--timeout` when that is shorter.
pub const DISCOVER_FOR_WRITE: Duration = Duration::from_secs(15);
/// `clusterset copy-secret` and `export`: each context's reads and writes.
pub const CLUSTERSET_WRITE: Duration = Duration::from_secs(15);
/// pause / resume / scale: waiting for the operator to report the change.
pub const OPERATOR_WAIT: Duration = Duration::from_secs(120);
/// `restart`: the annotate → removal cycles, then RUNNING (one reconcile per annotation).
pub const RESTART_WAIT: Duration = Duration::from_secs(180);
/// `offsets`: the operator's list operation and the ConfigMap it writes.
pub const OFFSETS_WAIT: Duration = Duration::from_secs(120);
/// Shell completion's live lookups: a prompt must never hang on a dead cluster.
pub const COMPLETION_LIVE: Duration = Duration::from_secs(2);
/// The quick discovery that names the target of an unquoted `a->b` (best effort).
pub const SHELL_TRAP_HINT: Duration = Duration::from_secs(3);
/// TCP connect to an API server, whatever the command's timeout.
pub const CONNECT: Duration = Duration::from_secs(10);
