//! `kubectl clusterset export` as a use case: which cluster exports what ([`ExportRequest`],
//! checked before any cluster is contacted where it can be), then the clusterset read and the
//! plan ([`prepare`]) that `export::execute` applies.

use crate::clients::Kubeconfigs;
use crate::clusterset::export::{self, ExportPlan, ExportWhat};
use crate::clusterset::members::{self, Clusterset};
use crate::error::{Error, Result};
use crate::topology::TopologyRequest;
use std::time::Duration;

/// What the user asked to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// `--context` values (export writes to exactly one cluster).
    pub contexts: Vec<String>,
    /// An existing Service to export.
    pub service: Option<String>,
    /// `--kafka`: make a Service selecting this Kafka cluster's brokers.
    pub kafka: Option<String>,
    /// `--as`: the Service's name with `--kafka`.
    pub as_name: Option<String>,
    /// `--print-manifests`: manifests for Git, nothing applied.
    pub print_manifests: bool,
    /// `-o json|yaml`.
    pub machine_output: bool,
}

impl ExportRequest {
    /// Usage errors that need no cluster.
    pub fn validate(&self) -> Result<()> {
        if self.print_manifests && self.machine_output {
            return Err(Error::Usage(
                "--print-manifests prints YAML manifests for the Flux repository and applies nothing; \
                 -o json|yaml prints the outcome of an export that applies: choose one"
                    .into(),
            ));
        }
        match (&self.service, &self.kafka) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(Error::Usage(
                    "export what? give a SERVICE, or --kafka KAFKA-CLUSTER [--as NAME]".into(),
                ));
            }
        }
        if self.contexts.len() > 1 {
            return Err(Error::Usage(format!(
                "export writes to one cluster; got --context {} (pass exactly one)",
                self.contexts.join(",")
            )));
        }
        Ok(())
    }

    /// The exporting context: `--context`, else the kubeconfig's current context.
    pub fn exporting_context(&self, current: Option<String>) -> Result<String> {
        match self.contexts.as_slice() {
            [one] => Ok(one.clone()),
            _ => current.ok_or_else(|| {
                Error::Usage(
                    "which cluster exports it? pass --context CONTEXT (no current-context either)".into(),
                )
            }),
        }
    }

    /// What to export, naming a `--kafka` Service after the context's alias unless `--as` names it.
    pub fn what(&self, context: &str, alias: Option<&str>) -> Result<ExportWhat> {
        match (&self.service, &self.kafka) {
            (Some(s), None) => Ok(ExportWhat::Service(s.clone())),
            (None, Some(k)) => {
                let name = match (&self.as_name, alias) {
                    (Some(n), _) => n.clone(),
                    (None, Some(a)) => format!("kafka-bootstrap-{a}"),
                    (None, None) => {
                        return Err(Error::Usage(format!(
                            "no alias known for context {context}: name the Service with --as, e.g. --as kafka-bootstrap-<alias>"
                        )));
                    }
                };
                Ok(ExportWhat::Kafka {
                    kafka: k.clone(),
                    name,
                })
            }
            _ => Err(Error::Usage(
                "export what? give a SERVICE, or --kafka KAFKA-CLUSTER [--as NAME]".into(),
            )),
        }
    }
}

/// Read the whole clusterset (the conflict check looks at every cluster, not only the exporting
/// one) and plan the export.
pub async fn prepare(
    kc: &Kubeconfigs,
    topology: &TopologyRequest,
    req: &ExportRequest,
    timeout: Duration,
) -> Result<(Clusterset, ExportPlan)> {
    req.validate()?;
    let context = req.exporting_context(kc.current_context())?;
    kc.check_context(&context)?;
    let mut all = topology.clone();
    all.contexts.clear();
    let mut cs = members::load(kc, &all, timeout).await?;
    cs.ensure_context(kc, &context, timeout).await?;
    let what = req.what(&context, cs.alias_of(&context))?;
    let name = match &what {
        ExportWhat::Service(s) => s.clone(),
        ExportWhat::Kafka { name, .. } => name.clone(),
    };
    export::refuse_foreign_name(&cs, &context, &name)?;
    // Manifests for Git do not depend on the exporting cluster being up.
    let plan = export::plan(&cs, &context, &what, req.print_manifests).await?;
    Ok((cs, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka() -> ExportRequest {
        ExportRequest {
            contexts: vec![],
            service: None,
            kafka: Some("kafka-rciis-prod".into()),
            as_name: None,
            print_manifests: false,
            machine_output: false,
        }
    }

    #[test]
    fn usage_errors_need_no_cluster() {
        let mut r = kafka();
        r.print_manifests = true;
        r.machine_output = true;
        assert!(matches!(r.validate(), Err(Error::Usage(m)) if m.contains("choose one")));
        let mut r = kafka();
        r.kafka = None;
        assert!(matches!(r.validate(), Err(Error::Usage(m)) if m.contains("export what?")));
        let mut r = kafka();
        r.contexts = vec!["rciis-aws".into(), "rciis-proxmox".into()];
        assert!(matches!(r.validate(), Err(Error::Usage(m)) if m.contains("exactly one")));
        assert!(kafka().validate().is_ok());
    }

    #[test]
    fn the_exporting_context_is_the_flag_else_the_current_one() {
        let mut r = kafka();
        assert_eq!(
            r.exporting_context(Some("rciis-aws".into())).unwrap(),
            "rciis-aws"
        );
        assert!(matches!(r.exporting_context(None), Err(Error::Usage(_))));
        r.contexts = vec!["rciis-proxmox".into()];
        assert_eq!(
            r.exporting_context(Some("rciis-aws".into())).unwrap(),
            "rciis-proxmox"
        );
    }

    #[test]
    fn a_kafka_service_is_named_after_the_alias_unless_told() {
        let r = kafka();
        assert_eq!(
            r.what("rciis-aws", Some("aws")).unwrap(),
            ExportWhat::Kafka {
                kafka: "kafka-rciis-prod".into(),
                name: "kafka-bootstrap-aws".into()
            }
        );
        assert!(matches!(r.what("ctx", None), Err(Error::Usage(m)) if m.contains("--as")));
        let mut r = kafka();
        r.as_name = Some("kafka-bootstrap-x".into());
        assert!(
            matches!(r.what("ctx", None).unwrap(), ExportWhat::Kafka { name, .. } if name == "kafka-bootstrap-x")
        );
    }
}
