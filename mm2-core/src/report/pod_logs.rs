//! What a failed `pods/log` read means. A container's log is not held by the API server: it
//! streams it from the kubelet of the pod's node (`https://<node address>:10250/containerLogs/…`)
//! and hands back the kubelet's failure as if it were its own. Read naively, a kubelet that
//! refuses the API server's client certificate looks like "your credentials were rejected", a
//! kubelet whose authorizer refuses the API server looks like "you may not get pods/log", a
//! kubelet that does not know the pod looks like "the API is not installed" (kube-apiserver's
//! generic 404 text), and a wedged kubelet looks like a slow API server. The pod and its container
//! were read moments before, so these answers are about the kubelet, and the report says so.
//!
//! Pure: the reads live in `gather.rs`.

use super::Missing;
use crate::error::{Error, humantime};

/// Kind of a part the kubelet behind the API server could not give.
pub const KUBELET: &str = "kubelet";

/// Where the kubelet of a pod is, as the pod says.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// `spec.nodeName`.
    pub name: &'a str,
    /// `status.hostIP`, when known.
    pub host_ip: Option<&'a str>,
}

impl Node<'_> {
    fn kubelet(&self) -> String {
        match self.host_ip {
            Some(ip) => format!("the kubelet of node {} ({ip})", self.name),
            None => format!("the kubelet of node {}", self.name),
        }
    }
}

/// A pod that is not scheduled has no kubelet to ask (the API server would answer an empty log).
pub fn unscheduled(context: &str, part: String) -> Missing {
    Missing {
        context: Some(context.to_string()),
        part,
        kind: "not-running".into(),
        reason: "the pod is not scheduled to a node: no kubelet holds its logs".into(),
    }
}

/// The missing entry for `part`, the log of container `container`, that `e` kept out.
pub fn explain(context: &str, part: String, container: &str, node: Node<'_>, e: &Error) -> Missing {
    let kubelet = node.kubelet();
    let (kind, reason) = match e {
        // The user's own RBAC: kube-apiserver's authorizer names the user.
        Error::Forbidden { message, .. } if message.contains("is forbidden: User") => {
            (e.kind().to_string(), e.to_string())
        }
        Error::Forbidden { message, .. } => (
            KUBELET.to_string(),
            format!(
                "context {context}: {kubelet} refused the API server's request for the logs of {container} \
                 (HTTP 403: {message}); its kubelet client identity (kube-apiserver --kubelet-client-certificate) \
                 needs nodes/proxy"
            ),
        ),
        Error::Unauthorized { .. } => (
            KUBELET.to_string(),
            format!(
                "context {context}: {kubelet} did not accept the API server's credentials for the logs of \
                 {container} (HTTP 401; kube-apiserver --kubelet-client-certificate, kubelet --client-ca-file)"
            ),
        ),
        // kube-apiserver turns the kubelet's 404 into its generic "could not find the requested
        // resource", which reads as a missing API.
        Error::CrdMissing { .. } => (
            KUBELET.to_string(),
            format!(
                "context {context}: {kubelet} does not know container {container} of this pod (HTTP 404): \
                 the pod may have been recreated or the container not started yet"
            ),
        ),
        Error::Api {
            code: 500, message, ..
        } => (
            KUBELET.to_string(),
            format!(
                "context {context}: the API server could not get the logs of {container} from {kubelet}: {message}"
            ),
        ),
        Error::Timeout { timeout, .. } => (
            e.kind().to_string(),
            format!(
                "context {context}: no logs of {container} within {}: the API server streams them from {kubelet}, \
                 which did not answer in time",
                humantime(*timeout)
            ),
        ),
        _ => (e.kind().to_string(), e.to_string()),
    };
    Missing {
        context: Some(context.to_string()),
        part,
        kind,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NODE: Node<'static> = Node {
        name: "rciis-aws-worker-1",
        host_ip: Some("10.0.0.7"),
    };

    fn explained(e: Error) -> Missing {
        explain("rciis-aws", "p.log".into(), "mm2-mirrormaker2", NODE, &e)
    }

    fn forbidden(message: &str) -> Error {
        Error::Forbidden {
            context: "rciis-aws".into(),
            verb: "get".into(),
            resource: "pods/log".into(),
            namespace: Some("rciis-prod".into()),
            message: message.into(),
        }
    }

    #[test]
    fn the_users_own_rbac_stays_forbidden() {
        let m = explained(forbidden(
            r#"pods "m-0" is forbidden: User "viewer" cannot get resource "pods/log" in API group "" in the namespace "rciis-prod""#,
        ));
        assert_eq!(m.kind, "forbidden");
        assert!(m.reason.contains("user may not get pods/log"), "{}", m.reason);
    }

    #[test]
    fn a_refusal_from_the_kubelet_names_the_kubelet() {
        let m = explained(forbidden(
            "Forbidden (user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource=proxy)",
        ));
        assert_eq!(m.kind, KUBELET);
        assert!(
            m.reason
                .contains("the kubelet of node rciis-aws-worker-1 (10.0.0.7) refused")
                && m.reason.contains("subresource=proxy"),
            "{}",
            m.reason
        );
        let m = explained(Error::Unauthorized {
            context: "rciis-aws".into(),
            server: "https://a".into(),
            message: "the server has asked for the client to provide credentials".into(),
        });
        assert_eq!(m.kind, KUBELET);
        assert!(
            m.reason.contains("did not accept the API server's credentials"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn the_kubelets_404_is_not_a_missing_api() {
        let m = explained(Error::CrdMissing {
            context: "rciis-aws".into(),
            group: "pods/log".into(),
            kind: "Pod".into(),
        });
        assert_eq!(m.kind, KUBELET);
        assert!(
            m.reason.contains("does not know container mm2-mirrormaker2"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn an_unreachable_or_slow_kubelet_is_not_the_api_server() {
        let m = explained(Error::Api {
            context: "rciis-aws".into(),
            verb: "get".into(),
            resource: "pods/log".into(),
            code: 500,
            reason: "InternalError".into(),
            message: "Get \"https://10.0.0.7:10250/containerLogs/…\": dial tcp 10.0.0.7:10250: connect: connection refused"
                .into(),
        });
        assert_eq!(m.kind, KUBELET);
        assert!(m.reason.contains("connection refused"), "{}", m.reason);
        let m = explained(Error::Timeout {
            context: "rciis-aws".into(),
            server: "https://a".into(),
            timeout: Duration::from_secs(3),
        });
        assert_eq!(m.kind, "timeout");
        assert!(
            m.reason.contains("within 3s")
                && m.reason.contains("from the kubelet of node rciis-aws-worker-1"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn other_errors_keep_their_own_words() {
        let e = Error::NotFound {
            context: "rciis-aws".into(),
            kind: "Pod".into(),
            namespace: "rciis-prod".into(),
            name: "m-0".into(),
        };
        let m = explained(e.clone());
        assert_eq!((m.kind.as_str(), m.reason), ("not-found", e.to_string()));
    }
}
