//! Credentials: every `passwordSecret` an MM2 references exists with its key; a copy of a peer's
//! Secret holds the same password as its source (compared by hash, never by value); the local
//! KafkaUser is Ready; and a copy carrying an ownerReference the garbage collector will act on
//! (the runbook's `kubectl get -o json | jq | kubectl apply` copy) is called out before it vanishes.

use crate::doctor::facts::{ContextFacts, Kind, Mm2Fact, SecretFact};
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object};
use crate::resources::condition;
use serde_json::Value;

fn secret_object(cx: &ContextFacts, name: &str) -> String {
    format!("Secret {}/{name}", cx.namespace)
}

fn copy_command(user: &str, from_ctx: &str, to_ctx: &str, name: &str) -> String {
    format!("kubectl clusterset copy-secret {user} --from {from_ctx} --to {to_ctx} --as {name}")
}

/// Who the GC would collect this Secret for: an ownerReference to a KafkaUser that does not
/// exist in this cluster with that uid.
fn dangling_owner(cx: &ContextFacts, s: &SecretFact) -> Option<String> {
    s.owners.iter().find_map(|(_, kind, name, uid)| {
        if kind != "KafkaUser" || !cx.can_read(Kind::KafkaUser) {
            return None;
        }
        match cx.users.iter().find(|u| &u.meta.name == name) {
            Some(u) if &u.meta.uid == uid => None,
            Some(u) => Some(format!(
                "KafkaUser/{name} uid {uid} (the local {name} has uid {})",
                u.meta.uid
            )),
            None => Some(format!("KafkaUser/{name} uid {uid} (no such KafkaUser here)")),
        }
    })
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for cx in facts.reachable() {
        for m in &cx.mm2s {
            for entry in m.clusters() {
                out.extend(check_entry(facts, cx, m, entry));
            }
        }
    }
    out.sort_by(|a, b| (&a.context, &a.object, &a.id).cmp(&(&b.context, &b.object, &b.id)));
    out.dedup_by(|a, b| a.context == b.context && a.object == b.object && a.id == b.id);
    out
}

fn check_entry(facts: &Facts, cx: &ContextFacts, m: &Mm2Fact, entry: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let alias = entry["alias"].as_str().unwrap_or_default();
    let auth = &entry["authentication"];
    let user = auth["username"].as_str().unwrap_or_default();
    let local = cx.alias.as_deref() == Some(alias);
    // The local KafkaUser the User Operator turns into the Secret.
    if local && !user.is_empty() && cx.can_read(Kind::KafkaUser) {
        match cx.users.iter().find(|u| u.meta.name == user) {
            None => out.push(
                Finding::new(
                    "credentials.user-missing",
                    Check::Credentials,
                    Severity::Error,
                    cx,
                    format!("KafkaUser {}/{user}", cx.namespace),
                    format!(
                        "{} authenticates to {alias} as {user}, but there is no KafkaUser {user}",
                        object("KafkaMirrorMaker2", &m.meta)
                    ),
                )
                .evidence("username", user)
                .fix(Fix {
                    summary: "add the runbook's kafka-mm2-user.yaml to the Flux path of this cluster".into(),
                    ..Default::default()
                }),
            ),
            Some(u) => {
                let ready = condition(&u.conditions, "Ready");
                if ready.is_none_or(|c| c.status != "True") {
                    out.push(
                        Finding::new("credentials.user-not-ready", Check::Credentials, Severity::Error, cx,
                            format!("KafkaUser {}/{user}", cx.namespace),
                            format!("KafkaUser {user} is not Ready: the User Operator has not (re)created its SCRAM credentials"))
                        .evidence("Ready", ready.map(|c| format!("{} {}", c.status, c.message.clone().unwrap_or_default())).unwrap_or_else(|| "no condition".into()))
                        .fix(Fix { summary: format!("kubectl describe kafkauser {user} -n {} --context {} and fix what the User Operator reports", cx.namespace, cx.context), ..Default::default() }),
                    );
                }
            }
        }
    }
    let Some(ps) = auth.get("passwordSecret") else {
        return out;
    };
    let (Some(name), Some(key)) = (ps["secretName"].as_str(), ps["password"].as_str()) else {
        return out;
    };
    if !cx.can_read(Kind::Secret) {
        return out;
    }
    let peer = if local { None } else { facts.by_alias(alias) };
    let source_ctx = peer
        .map(|p| p.context.clone())
        .unwrap_or_else(|| format!("<context of {alias}>"));
    let Some(s) = cx.secret(name) else {
        let fix = if local {
            Fix {
                summary: format!(
                    "the User Operator writes Secret {name} for KafkaUser {user}: make sure the KafkaUser exists and is Ready"
                ),
                ..Default::default()
            }
        } else {
            Fix {
                summary: format!(
                    "copy {alias}'s {user} Secret here without its ownerReference (the runbook's jq copy keeps it, and the garbage collector deletes the copy)"
                ),
                command: Some(copy_command(user, &source_ctx, &cx.context, name)),
                ..Default::default()
            }
        };
        out.push(
            Finding::new("credentials.secret-missing", Check::Credentials, Severity::Error, cx, secret_object(cx, name),
                format!("{} reads the password for {alias} from Secret {name}, which does not exist: the Connect workers cannot start", object("KafkaMirrorMaker2", &m.meta)))
            .evidence("passwordSecret", format!("{name}/{key}"))
            .evidence("cluster alias", alias)
            .fix(fix),
        );
        return out;
    };
    if !s.key_hashes.contains_key(key) {
        out.push(
            Finding::new("credentials.secret-key-missing", Check::Credentials, Severity::Error, cx, secret_object(cx, name),
                format!("Secret {name} has no key {key}, which {} reads the password from", object("KafkaMirrorMaker2", &m.meta)))
            .evidence("keys", s.key_hashes.keys().cloned().collect::<Vec<_>>().join(", "))
            .evidence("passwordSecret.password", key)
            .fix(Fix { summary: "point passwordSecret.password at the key the Secret has (Strimzi's user Secrets use `password`)".into(), ..Default::default() }),
        );
    }
    if let Some(owner) = dangling_owner(cx, s) {
        out.push(
            Finding::new("credentials.copy-owned-by-peer", Check::Credentials, Severity::Error, cx, secret_object(cx, name),
                format!("Secret {name} carries an ownerReference to an object that does not exist in this cluster: the garbage collector deletes it, and the MM2 loses its credentials"))
            .evidence("ownerReference", owner)
            .fix(Fix {
                summary: "re-copy it without ownerReferences (copy-secret drops them and records where it came from)".into(),
                command: peer.map(|p| copy_command(user, &p.context, &cx.context, name)),
                ..Default::default()
            }),
        );
    }
    // A copy must hold the password its source holds now.
    if let Some(p) = peer
        && p.can_read(Kind::Secret)
    {
        let source_name = p
            .users
            .iter()
            .find(|u| u.meta.name == user)
            .and_then(|u| u.secret.clone())
            .unwrap_or_else(|| user.to_string());
        if let (Some(src), Some(copy_hash)) = (p.secret(&source_name), s.key_hashes.get(key))
            && let Some(src_hash) = src.key_hashes.get("password")
            && src_hash != copy_hash
        {
            out.push(
                Finding::new("credentials.copy-stale", Check::Credentials, Severity::Error, cx, secret_object(cx, name),
                    format!("Secret {name} does not hold the password of {source_name} in {} (rotated, or copied from the wrong Secret): authentication to {alias} fails", p.context))
                .evidence("copy sha256", format!("{copy_hash}… ({name}/{key} in {})", cx.context))
                .evidence("source sha256", format!("{src_hash}… ({source_name}/password in {})", p.context))
                .fix(Fix { summary: "copy the current Secret again".into(), command: Some(copy_command(user, &p.context, &cx.context, name)), ..Default::default() }),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};
    use serde_json::json;

    fn with_auth(mut m: Value) -> Value {
        for c in m["spec"]["clusters"].as_array_mut().unwrap() {
            let a = c["alias"].as_str().unwrap().to_string();
            let secret = if a == "aws" {
                "mm2-user".to_string()
            } else {
                format!("mm2-user-{a}")
            };
            c["authentication"] = json!({"type": "scram-sha-512", "username": "mm2-user",
                "passwordSecret": {"secretName": secret, "password": "password"}});
        }
        m
    }
    fn user(uid: &str) -> Value {
        json!({"kind": "KafkaUser", "metadata": {"name": "mm2-user", "namespace": "rciis-prod", "uid": uid},
               "status": {"secret": "mm2-user", "conditions": [{"type": "Ready", "status": "True"}]}})
    }
    fn secret(name: &str, pw: &str, owner_uid: Option<&str>) -> Value {
        let mut s = json!({"kind": "Secret", "metadata": {"name": name, "namespace": "rciis-prod"},
            "data": {"password": crate::clusterset::secret::base64_engine::encode(pw.as_bytes())}});
        if let Some(u) = owner_uid {
            s["metadata"]["ownerReferences"] = json!([{"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser", "name": "mm2-user", "uid": u}]);
        }
        s
    }
    fn base() -> Vec<(&'static str, Value)> {
        vec![
            (
                "aws",
                with_auth(mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws")),
            ),
            ("aws", user("uid-aws")),
            ("aws", secret("mm2-user", "pw-aws", Some("uid-aws"))),
            ("proxmox", user("uid-px")),
            ("proxmox", secret("mm2-user", "pw-px", Some("uid-px"))),
        ]
    }

    #[test]
    fn a_clean_copy_passes() {
        let mut o = base();
        o.push(("aws", secret("mm2-user-proxmox", "pw-px", None)));
        assert!(check(&facts_with(&o)).is_empty());
    }

    #[test]
    fn missing_copy_names_the_copy_command() {
        let f = check(&facts_with(&base()));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "credentials.secret-missing");
        assert_eq!(f[0].object, "Secret rciis-prod/mm2-user-proxmox");
        assert_eq!(
            f[0].fix.command.as_deref(),
            Some(
                "kubectl clusterset copy-secret mm2-user --from rciis-proxmox --to rciis-aws --as mm2-user-proxmox"
            )
        );
    }

    #[test]
    fn jq_copy_and_stale_copy_trip_without_printing_values() {
        let mut o = base();
        o.push(("aws", secret("mm2-user-proxmox", "old-password", Some("uid-px"))));
        let f = check(&facts_with(&o));
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["credentials.copy-owned-by-peer", "credentials.copy-stale"]);
        let text = format!("{f:?}");
        assert!(!text.contains("old-password") && !text.contains("pw-px"));
    }

    #[test]
    fn an_unready_user_trips() {
        let mut o = base();
        o[1].1["status"]["conditions"] = json!([{"type": "NotReady", "status": "True"}]);
        o.push(("aws", secret("mm2-user-proxmox", "pw-px", None)));
        let f = check(&facts_with(&o));
        assert_eq!(
            f.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["credentials.user-not-ready"]
        );
    }
}
