use super::super::secret::{Redacted, SecretData};
use super::*;
use crate::clusterset::FIELD_MANAGER;
use crate::clusterset::secret::{Desired, OwnerRef, Provenance, SecretView, diff};
use crate::resources::strimzi::Mm2Spec;
use std::collections::BTreeMap;

/// aws's `mm2-user`: one key, `password`.
pub(crate) fn source() -> SecretView {
    SecretView {
        name: "mm2-user".into(),
        namespace: "rciis-prod".into(),
        resource_version: "100".into(),
        type_: "Opaque".into(),
        data: SecretData(BTreeMap::from([("password".into(), b"pw-1".to_vec())])),
        ..Default::default()
    }
}

fn copy_of(src: &SecretView, ctx: &str) -> SecretView {
    let d = Desired::from_source(src, ctx, "mm2-user-aws", "rciis-prod");
    SecretView {
        name: "mm2-user-aws".into(),
        namespace: "rciis-prod".into(),
        resource_version: "7".into(),
        type_: d.type_.clone(),
        data: d.data.clone(),
        labels: d.labels.clone(),
        annotations: d.annotations.clone(),
        managers: vec![FIELD_MANAGER.into()],
        ..Default::default()
    }
}

#[test]
fn ours_unchanged_rotated_drifted_foreign() {
    let src = source();
    let target = copy_of(&src, "rciis-aws");
    let d = Desired::from_source(&src, "rciis-aws", "mm2-user-aws", "rciis-prod");
    assert_eq!(
        judge(&target, &d),
        (Ownership::Ours, Provenance::read(&target), None, false)
    );

    // Rotation: the source has new content and a new resourceVersion.
    let mut rotated_src = src.clone();
    rotated_src.resource_version = "101".into();
    rotated_src.data.0.insert("password".into(), b"pw-2".to_vec());
    let d2 = Desired::from_source(&rotated_src, "rciis-aws", "mm2-user-aws", "rciis-prod");
    let (o, _, r, drift) = judge(&target, &d2);
    assert_eq!(o, Ownership::Ours);
    assert_eq!(
        r,
        Some(Rotation {
            from: "100".into(),
            to: "101".into()
        })
    );
    assert!(!drift);

    // Drift: someone edited the copy.
    let mut edited = target.clone();
    edited.data.0.insert("password".into(), b"typo".to_vec());
    assert!(judge(&edited, &d).3);

    // Same annotations but another source: ours, other source.
    let other = copy_of(&src, "rciis-gcp");
    assert_eq!(judge(&other, &d).0, Ownership::OursOtherSource);

    // The runbook's jq copy: no provenance, another manager.
    let jq = SecretView {
        managers: vec!["kubectl-client-side-apply".into()],
        annotations: Redacted(BTreeMap::from([(
            "kubectl.kubernetes.io/last-applied-configuration".into(),
            "{}".into(),
        )])),
        ..src.clone()
    };
    assert_eq!(judge(&jq, &d).0, Ownership::Foreign);
}

/// The plan of copying `src` to proxmox as `mm2-user-aws`, over `target`.
pub(crate) fn plan_for(target: Option<SecretView>, src: &SecretView) -> CopyPlan {
    let d = Desired::from_source(src, "rciis-aws", "mm2-user-aws", "rciis-prod");
    let (ownership, recorded, rotated, drifted) = match &target {
        Some(t) => judge(t, &d),
        None => (Ownership::Absent, None, None, false),
    };
    CopyPlan {
        spec: CopySpec {
            source_context: "rciis-aws".into(),
            source_namespace: "rciis-prod".into(),
            source_name: "mm2-user".into(),
            target_context: "rciis-proxmox".into(),
            target_namespace: "rciis-prod".into(),
            target_name: "mm2-user-aws".into(),
        },
        diff: diff(target.as_ref().unwrap_or(&SecretView::default()), &d),
        source: src.clone(),
        target,
        desired: d,
        ownership,
        recorded,
        owner_checks: vec![OwnerCheck {
            owner: OwnerRef {
                api_version: "kafka.strimzi.io/v1".into(),
                kind: "KafkaUser".into(),
                name: "mm2-user".into(),
                uid: "u1".into(),
            },
            fate: OwnerFate::Dangling,
            explanation: "Its ownerReference KafkaUser/mm2-user (uid u1) was copied from another cluster"
                .into(),
        }],
        rotated,
        drifted,
        notes: vec![],
    }
}

#[test]
fn consent_and_refusal_explain_the_hand_made_copy() {
    let src = source();
    let mut jq = src.clone();
    jq.name = "mm2-user-aws".into();
    jq.managers = vec!["kubectl-client-side-apply".into()];
    jq.annotations.0.insert(
        "kubectl.kubernetes.io/last-applied-configuration".into(),
        "{\"data\":{\"password\":\"cHctMQ==\"}}".into(),
    );
    let p = plan_for(Some(jq), &src);
    assert!(p.needs_consent() && !p.unchanged() && p.blocker().is_none());
    let e = p.refusal();
    assert_eq!(e.exit_code(), crate::error::exit::REFUSED);
    let text = format!("{e} {}", e.hint().unwrap());
    assert!(
        text.contains("by hand") && text.contains("kubectl-client-side-apply"),
        "{text}"
    );
    assert!(
        text.contains("--force") && text.contains("garbage collector"),
        "{text}"
    );
    assert!(!text.contains("cHctMQ") && !text.contains("pw-1"), "{text}");

    // Our own copy needs no consent; an absent target neither.
    assert!(!plan_for(Some(copy_of(&src, "rciis-aws")), &src).needs_consent());
    assert!(plan_for(Some(copy_of(&src, "rciis-aws")), &src).unchanged());
    assert!(!plan_for(None, &src).needs_consent());
}

#[test]
fn type_change_and_immutable_target_are_blockers() {
    let src = source();
    let mut t = copy_of(&src, "rciis-aws");
    t.type_ = "kubernetes.io/basic-auth".into();
    assert!(
        plan_for(Some(t), &src)
            .blocker()
            .unwrap()
            .to_string()
            .contains("type")
    );
    let mut t = copy_of(&src, "rciis-aws");
    t.immutable = true;
    t.data.0.insert("password".into(), b"old".to_vec());
    assert!(
        plan_for(Some(t), &src)
            .blocker()
            .unwrap()
            .to_string()
            .contains("immutable")
    );
}

#[test]
fn mm2_specs_give_the_runbook_copies() {
    let clusters = vec![
        ("aws".to_string(), "rciis-aws".to_string()),
        ("proxmox".to_string(), "rciis-proxmox".to_string()),
    ];
    let specs = mm2_copy_specs(&clusters, &[], "rciis-prod");
    let pairs: Vec<(String, String, String, String)> = specs
        .iter()
        .map(|s| {
            (
                s.source_context.clone(),
                s.source_name.clone(),
                s.target_context.clone(),
                s.target_name.clone(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            (
                "rciis-aws".into(),
                "mm2-user".into(),
                "rciis-proxmox".into(),
                "mm2-user-aws".into()
            ),
            (
                "rciis-proxmox".into(),
                "mm2-user".into(),
                "rciis-aws".into(),
                "mm2-user-proxmox".into()
            ),
        ]
    );
    // An MM2 in proxmox that names other secrets wins over the convention.
    let mm2: Mm2Spec = serde_json::from_value(serde_json::json!({
        "connectCluster": "proxmox",
        "clusters": [
            {"alias": "proxmox", "bootstrapServers": "x:9092"},
            {"alias": "aws", "bootstrapServers": "y:9092", "authentication": {
                "type": "scram-sha-512", "username": "replicator",
                "passwordSecret": {"secretName": "aws-replicator", "password": "password"}}}
        ]
    }))
    .unwrap();
    let specs = mm2_copy_specs(&clusters, &[("rciis-proxmox".into(), mm2)], "rciis-prod");
    assert_eq!(specs[0].source_name, "replicator");
    assert_eq!(specs[0].target_name, "aws-replicator");
    assert_eq!(specs[1].target_name, "mm2-user-proxmox");
}
