//! Which contexts to ask, as whom, and in which namespace: the kubeconfig's contexts, one identity
//! per API server (zero-config), and the one namespace-precedence rule.

use super::request::{ClusterEntry, TopologyRequest};
use crate::clients::Kubeconfigs;
use crate::error::Result;

/// Which contexts to ask, with the alias each is already known by (if any).
pub fn candidate_contexts(kc: &Kubeconfigs, req: &TopologyRequest) -> Result<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let explicit: Vec<ClusterEntry> = if !req.clusters.is_empty() {
        req.clusters.clone()
    } else {
        req.config
            .as_ref()
            .map(|c| c.clusters.clone())
            .unwrap_or_default()
    };
    for c in &explicit {
        kc.check_context(&c.context)?;
        out.push((c.context.clone(), Some(c.alias.clone())));
    }
    if !req.contexts.is_empty() {
        for c in &req.contexts {
            kc.check_context(c)?;
        }
        if out.is_empty() {
            out = req.contexts.iter().map(|c| (c.clone(), None)).collect();
        } else {
            out.retain(|(c, _)| req.contexts.contains(c));
        }
        return Ok(out);
    }
    if out.is_empty() {
        out = zero_config(kc).into_iter().map(|c| (c.context, None)).collect();
    }
    Ok(out)
}

/// Zero-config: one context per API server, chosen by [`identity_for_server`].
pub fn zero_config(kc: &Kubeconfigs) -> Vec<IdentityChoice> {
    let mut servers: Vec<(String, Vec<String>)> = Vec::new();
    for c in kc.contexts() {
        let server = kc.server_of(&c).unwrap_or_else(|| c.clone());
        match servers.iter_mut().find(|(s, _)| *s == server) {
            Some((_, cs)) => cs.push(c),
            None => servers.push((server, vec![c])),
        }
    }
    let current = kc.current_context();
    servers
        .into_iter()
        .map(|(_, contexts)| identity_for_server(&contexts, current.as_deref(), |c| kc.cluster_of(c)))
        .collect()
}

/// Which of several contexts pointing at one API server speaks for it, and whether that was a
/// real choice. The identity decides what a write is allowed to do (an admin and a read-only
/// user often share a server), so kubeconfig order or the alphabet must not decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChoice {
    pub context: String,
    /// The other contexts of that server when nothing decided between them: writes refuse.
    pub undecided: Vec<String>,
}

/// Rule: the current context; else the one context named like its kubeconfig cluster entry
/// (`kubectl config set-context rciis-aws --cluster rciis-aws`, the usual primary next to
/// `viewer@rciis-aws`); else undecided (the first, for reads only). Pure.
pub fn identity_for_server(
    contexts: &[String],
    current: Option<&str>,
    cluster_of: impl Fn(&str) -> Option<String>,
) -> IdentityChoice {
    let decided = |c: &String| IdentityChoice {
        context: c.clone(),
        undecided: Vec::new(),
    };
    if contexts.len() == 1 {
        return decided(&contexts[0]);
    }
    if let Some(c) = contexts.iter().find(|c| Some(c.as_str()) == current) {
        return decided(c);
    }
    let primary: Vec<&String> = contexts
        .iter()
        .filter(|c| cluster_of(c).as_deref() == Some(c.as_str()))
        .collect();
    if let [only] = primary.as_slice() {
        return decided(only);
    }
    IdentityChoice {
        context: contexts[0].clone(),
        undecided: contexts[1..].to_vec(),
    }
}

/// The namespace to look in for one context: `None` with `-A`, and also when neither `-n`, the
/// config file nor the context names one (discovery then looks in every namespace).
pub fn namespace_for(kc: &Kubeconfigs, req: &TopologyRequest, context: &str) -> Option<String> {
    if req.all_namespaces {
        return None;
    }
    namespace_choice(kc, req, Some(context))
}

/// The one namespace precedence rule of both plugins: `-n`, then the clusterset config file's,
/// then `context`'s namespace in the kubeconfig (`None`: nobody chose one).
pub fn namespace_choice(kc: &Kubeconfigs, req: &TopologyRequest, context: Option<&str>) -> Option<String> {
    req.namespace
        .clone()
        .or_else(|| req.config.as_ref().and_then(|c| c.namespace.clone()))
        .or_else(|| context.and_then(|c| kc.namespace_of(c)))
}

/// [`namespace_choice`] where exactly one namespace is needed (MCS namespace sameness, a Secret
/// copy): kubectl's `default` when nobody chose one.
pub fn one_namespace(kc: &Kubeconfigs, req: &TopologyRequest, context: Option<&str>) -> String {
    namespace_choice(kc, req, context).unwrap_or_else(|| "default".into())
}

/// Alias a context is named after: `rciis-aws` → `aws` when `aws` is a known alias.
pub fn alias_from_context_name<'a>(context: &str, aliases: &'a [String]) -> Option<&'a String> {
    aliases.iter().find(|a| {
        context == a.as_str()
            || [format!("-{a}"), format!("_{a}"), format!("@{a}"), format!("/{a}")]
                .iter()
                .any(|suffix| context.ends_with(suffix.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{ClustersetConfig, parse_cluster_flag};

    #[test]
    fn one_namespace_rule_flag_then_config_then_context_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "apiVersion: v1\nkind: Config\ncurrent-context: rciis-aws\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
             contexts:\n- name: rciis-aws\n  context:\n    cluster: c\n    user: u\n    namespace: ctx-ns\n- name: bare\n  context:\n    cluster: c\n    user: u\n\
             users:\n- name: u\n  user:\n    token: t\n",
        )
        .unwrap();
        let kc = Kubeconfigs::load(Some(&p)).unwrap();
        let mut req = TopologyRequest::default();
        assert_eq!(one_namespace(&kc, &req, Some("rciis-aws")), "ctx-ns");
        assert_eq!(one_namespace(&kc, &req, Some("bare")), "default");
        // Discovery looks everywhere when nobody chose a namespace, never silently in `default`.
        assert_eq!(namespace_for(&kc, &req, "bare"), None);
        req.config = Some(ClustersetConfig {
            namespace: Some("cfg-ns".into()),
            clusters: vec![],
        });
        assert_eq!(one_namespace(&kc, &req, Some("rciis-aws")), "cfg-ns");
        req.namespace = Some("flag-ns".into());
        assert_eq!(namespace_for(&kc, &req, "rciis-aws").as_deref(), Some("flag-ns"));
        req.all_namespaces = true;
        assert_eq!(namespace_for(&kc, &req, "rciis-aws"), None);
    }

    #[test]
    fn the_current_context_speaks_for_its_server() {
        let cs = vec!["admin@aws".to_string(), "viewer@aws".to_string()];
        let c = identity_for_server(&cs, Some("viewer@aws"), |_| Some("aws".into()));
        assert_eq!(
            c.context, "viewer@aws",
            "a read-only current context never ends up writing as admin"
        );
        assert!(c.undecided.is_empty());
    }

    #[test]
    fn the_context_named_like_its_cluster_is_the_primary() {
        let cs = vec!["viewer@rciis-proxmox".to_string(), "rciis-proxmox".to_string()];
        let c = identity_for_server(&cs, Some("rciis-aws"), |_| Some("rciis-proxmox".into()));
        assert_eq!(c.context, "rciis-proxmox");
        assert!(c.undecided.is_empty());
    }

    #[test]
    fn nothing_decides_between_two_users_and_writes_must_refuse() {
        let cs = vec!["alice@aws".to_string(), "bob@aws".to_string()];
        let c = identity_for_server(&cs, None, |_| Some("aws".into()));
        assert_eq!(c.undecided, vec!["bob@aws".to_string()]);
    }

    #[test]
    fn cluster_flag_and_context_name_aliases() {
        assert_eq!(parse_cluster_flag("aws=rciis-aws").unwrap().context, "rciis-aws");
        assert!(parse_cluster_flag("aws").is_err());
        let known = vec!["aws".to_string(), "proxmox".to_string()];
        assert_eq!(
            alias_from_context_name("rciis-aws", &known).map(String::as_str),
            Some("aws")
        );
        assert_eq!(
            alias_from_context_name("viewer@proxmox", &known).map(String::as_str),
            Some("proxmox")
        );
        assert_eq!(alias_from_context_name("rciis-gcp", &known), None);
    }
}
