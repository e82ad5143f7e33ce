//! On a real terminal (a pseudo-terminal): the direction picker and the confirmation prompt.
//! Off a terminal the same commands must never prompt (see mm2_lifecycle's non-TTY test).

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use mm2_e2e::{bed, crds, fixtures};
use rexpect::process::WaitStatus;
use serde_json::json;
use std::process::Command;

async fn fresh_unfluxed(ns: &str) {
    fixtures::install_working(bed(), ns)
        .await
        .expect("install the working layout");
    for (alias, name) in [("aws", "mm2-proxmox-to-aws"), ("proxmox", "mm2-aws-to-proxmox")] {
        let api = Api::<DynamicObject>::namespaced_with(bed().client(alias).await, ns, &crds::mm2("v1beta2"));
        let p = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": null, "kustomize.toolkit.fluxcd.io/namespace": null}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(p))
            .await
            .expect("unflux");
    }
}

fn on_a_terminal(args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = Command::new(mm2_e2e::product_bin("kubectl-mm2"));
    cmd.args(args)
        .env("KUBECONFIG", bed().kubeconfig())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("CI");
    rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn on a pty")
}

fn exit_code(p: &rexpect::session::PtySession) -> i32 {
    match p.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("not a normal exit: {other:?}"),
    }
}

async fn source_state(alias: &str, ns: &str, name: &str) -> Option<String> {
    let api = Api::<DynamicObject>::namespaced_with(bed().client(alias).await, ns, &crds::mm2("v1beta2"));
    let o = api.get(name).await.expect("get mm2");
    o.data["spec"]["mirrors"][0]["sourceConnector"]["state"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn picker_lists_directions_with_their_state_and_pauses_the_chosen_one() {
    let ns = "t-tty-pick";
    fresh_unfluxed(ns).await;
    let mut p = on_a_terminal(&["pause", "-n", ns, "--wait=false"]);
    p.exp_string("Direction to pause").expect("picker shown");
    p.exp_string("source=RUNNING").expect("current state shown");
    p.send("\x1b[B").unwrap(); // arrow down: proxmox->aws
    p.flush().unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("state=paused").expect("paused");
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    assert_eq!(
        source_state("aws", ns, "mm2-proxmox-to-aws").await.as_deref(),
        Some("paused")
    );
    assert_eq!(
        source_state("proxmox", ns, "mm2-aws-to-proxmox").await,
        None,
        "the other direction untouched"
    );
}

#[tokio::test]
async fn pausing_every_direction_asks_and_no_writes_nothing() {
    let ns = "t-tty-confirm";
    fresh_unfluxed(ns).await;
    let mut p = on_a_terminal(&["pause", "--all", "-n", ns, "--wait=false"]);
    p.exp_string("ALL 2 directions").expect("confirmation asked");
    p.send("n").unwrap();
    p.flush().unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("aborted").expect("aborted");
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 6);
    assert_eq!(source_state("aws", ns, "mm2-proxmox-to-aws").await, None);
    assert_eq!(source_state("proxmox", ns, "mm2-aws-to-proxmox").await, None);
}
