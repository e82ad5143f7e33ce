//! `--mm2`: which copies the clusterset's KafkaMirrorMaker2s need (each cluster's MM2 user to
//! every peer, named as the peers' MM2s reference it).

use crate::resources::strimzi::{Mm2Cluster, Mm2Spec};

use super::*;

/// The copies `--mm2` makes: for every ordered pair of clusters (a → b), the Secret of a's MM2
/// user to b under the name b's KafkaMirrorMaker2 expects for cluster a. The names come from the
/// MM2 specs in b (`passwordSecret.secretName`, and the Secret of the KafkaUser named
/// `username`); without one, the runbook's convention `mm2-user` → `mm2-user-<a>`.
pub fn mm2_copy_specs(
    clusters: &[(String, String)],
    mm2_specs: &[(String, Mm2Spec)],
    namespace: &str,
) -> Vec<CopySpec> {
    let mut out = Vec::new();
    for (a_alias, a_ctx) in clusters {
        for (_, b_ctx) in clusters.iter().filter(|(_, c)| c != a_ctx) {
            let referenced = mm2_specs
                .iter()
                .filter(|(ctx, _)| ctx == b_ctx)
                .flat_map(|(_, s)| entries(s))
                .filter(|c| &c.alias == a_alias)
                .find_map(|c| {
                    let auth = c.authentication.as_ref()?;
                    let secret = auth.password_secret.as_ref()?.secret_name.clone();
                    Some((auth.username.clone().unwrap_or_else(|| MM2_USER.into()), secret))
                });
            let (source_name, target_name) =
                referenced.unwrap_or_else(|| (MM2_USER.to_string(), format!("{MM2_USER}-{a_alias}")));
            let spec = CopySpec {
                source_context: a_ctx.clone(),
                source_namespace: namespace.into(),
                source_name,
                target_context: b_ctx.clone(),
                target_namespace: namespace.into(),
                target_name,
            };
            if !out.contains(&spec) {
                out.push(spec);
            }
        }
    }
    out
}

/// Every cluster entry of an MM2 spec, both API shapes.
pub(super) fn entries(s: &Mm2Spec) -> Vec<&Mm2Cluster> {
    let mut v: Vec<&Mm2Cluster> = s.clusters.iter().collect();
    v.extend(s.target.iter());
    v.extend(s.mirrors.iter().filter_map(|m| m.source.as_ref()));
    v
}
