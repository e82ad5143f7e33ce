//! Child processes of the test bed and their clean-up.
//!
//! Every long-lived process (etcd, kube-apiserver, kube-controller-manager) is spawned from one
//! dedicated thread that never exits, with `PR_SET_PDEATHSIG = SIGKILL`: the kernel sends that
//! signal when the *thread* that forked the child exits, so the spawning thread must outlive the
//! test process. Their pids are recorded, and a `libc::atexit` handler (libtest ends with
//! `process::exit`) kills exactly those pids, then removes the bed's directories.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Pids of every live process the harness started.
static PIDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Directories removed at exit (unless `MM2_KEEP_BED=1`).
static CLEANUP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Loopback addresses already added to `lo`.
static ADDRS: Mutex<Option<HashSet<Ipv4Addr>>> = Mutex::new(None);
/// TCP ports already handed out by [`free_port`].
static PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

struct SpawnRequest {
    cmd: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// True when `MM2_KEEP_BED=1`: the bed directory is kept at exit.
pub fn keep_bed() -> bool {
    std::env::var("MM2_KEEP_BED")
        .map(|v| v == "1" || v == "true")
        .unwrap_or(false)
}

fn spawner() -> mpsc::Sender<SpawnRequest> {
    SPAWNER
        .get_or_init(|| {
            // SAFETY: registering a plain extern "C" fn without captured state.
            unsafe {
                libc::atexit(cleanup_at_exit);
            }
            let (tx, rx) = mpsc::channel::<SpawnRequest>();
            std::thread::Builder::new()
                .name("mm2-e2e-spawner".into())
                .spawn(move || {
                    for mut req in rx {
                        let res = req.cmd.spawn();
                        if let Ok(child) = &res {
                            lock(&PIDS).push(child.id() as i32);
                        }
                        let _ = req.reply.send(res);
                    }
                    // The sender lives in a static and is never dropped; should it ever be, this
                    // thread must still not exit (PDEATHSIG would kill every child).
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawn the mm2-e2e-spawner thread");
            Mutex::new(tx)
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

extern "C" fn cleanup_at_exit() {
    let pids: Vec<i32> = match PIDS.try_lock() {
        Ok(g) => g.clone(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
        Err(_) => Vec::new(),
    };
    for pid in &pids {
        // SAFETY: kill/waitpid on pids this process spawned itself.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    for pid in &pids {
        unsafe {
            libc::waitpid(*pid, std::ptr::null_mut(), 0);
        }
    }
    if !keep_bed() {
        let dirs: Vec<PathBuf> = match CLEANUP_DIRS.try_lock() {
            Ok(g) => g.clone(),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
            Err(_) => Vec::new(),
        };
        for d in dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Registers a directory to delete at exit (unless `MM2_KEEP_BED=1`).
pub fn remove_at_exit(dir: &Path) {
    let _ = spawner(); // make sure the atexit handler is installed
    lock(&CLEANUP_DIRS).push(dir.to_path_buf());
}

/// A long-lived child process (its stdout and stderr go to `log`).
pub struct Proc {
    pub name: String,
    pub pid: i32,
    pub log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Proc {
    /// Spawns `program args` from the spawner thread, with PDEATHSIG and output to `log`.
    pub fn spawn(name: &str, program: &Path, args: &[String], log: &Path) -> io::Result<Proc> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel();
        spawner()
            .send(SpawnRequest { cmd, reply: tx })
            .map_err(|_| io::Error::other("spawner thread is gone"))?;
        let child = rx
            .recv()
            .map_err(|_| io::Error::other("spawner thread did not answer"))??;
        Ok(Proc {
            name: name.to_string(),
            pid: child.id() as i32,
            log: log.to_path_buf(),
            child: Mutex::new(Some(child)),
        })
    }

    /// `None` while running, else a description of how it ended.
    pub fn exited(&self) -> Option<String> {
        let mut g = lock(&self.child);
        match g.as_mut() {
            None => Some("killed by the harness".into()),
            Some(c) => match c.try_wait() {
                Ok(Some(st)) => Some(st.to_string()),
                Ok(None) => None,
                Err(e) => Some(format!("wait failed: {e}")),
            },
        }
    }

    /// Kills this process (SIGKILL) and reaps it. Idempotent.
    pub fn kill(&self) {
        let mut g = lock(&self.child);
        if let Some(mut c) = g.take() {
            let _ = c.kill();
            let _ = c.wait();
            lock(&PIDS).retain(|p| *p != self.pid);
        }
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        tail_file(&self.log, n)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn tail_file(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A TCP port on 127.0.0.1 that was free a moment ago and that this process never handed out.
pub fn free_port() -> u16 {
    let mut g = lock(&PORTS);
    let used = g.get_or_insert_with(HashSet::new);
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let p = l.local_addr().expect("local addr").port();
        if used.insert(p) {
            return p;
        }
    }
}

/// Panics unless this process runs in an isolated network namespace (only `lo`). Call before
/// starting any server or adding an address.
pub fn assert_isolated_netns() {
    // /proc/self/net follows the network namespace of this task (unlike /sys/class/net, which
    // shows the namespace of whoever mounted sysfs).
    let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap_or_default();
    let ifaces: Vec<String> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if ifaces != ["lo"] {
        panic!(
            "mm2-e2e must run inside an isolated network namespace (found interfaces {ifaces:?}, \
             expected only `lo`). It adds 198.18.x.y addresses and starts API servers; run it as root \
             through the wrapper, e.g.\n    cargo build -p mm2-e2e --tests && \
             bash tests/netns-run.sh cargo test --offline -p mm2-e2e"
        );
    }
}

/// Adds `ip/32` to `lo` (once per process). Only 198.18.0.0/15 test addresses are allowed.
pub fn ensure_addr(ip: Ipv4Addr) -> io::Result<()> {
    let o = ip.octets();
    assert!(
        o[0] == 198 && o[1] == 18,
        "refusing to add non-test address {ip} to lo"
    );
    assert_isolated_netns();
    let mut g = lock(&ADDRS);
    let set = g.get_or_insert_with(HashSet::new);
    if set.contains(&ip) {
        return Ok(());
    }
    let out = Command::new("ip")
        .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && !stderr.contains("File exists") && !stderr.contains("already assigned") {
        return Err(io::Error::other(format!("ip addr add {ip}/32 dev lo: {stderr}")));
    }
    set.insert(ip);
    Ok(())
}

/// Runs a short-lived command, failing with its output when it fails.
pub fn run(program: &str, args: &[&str], cwd: &Path) -> io::Result<String> {
    let out = Command::new(program).args(args).current_dir(cwd).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{program} {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
