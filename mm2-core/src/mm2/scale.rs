//! `kubectl mm2 scale`: the number of Connect workers (`spec.replicas`, through the `/scale`
//! subresource) and the source connector's `tasksMax` of one direction's KafkaMirrorMaker2.
//!
//! [`validate`] checks the request before any cluster is contacted; [`prepare`] reads the object
//! once; [`decide`] (pure) plans both fields, the warnings, the Flux step and the questions to ask
//! before anything is written; [`execute`] writes and waits for the workers.

use crate::clients::ContextClient;
use crate::error::{Error, Result};
use crate::mm2::flux_gate::{self, FluxStep, GateFlags};
use crate::mm2::gitops::{self, Touches};
use crate::mm2::lifecycle;
use crate::mm2::status::{FluxReport, flux_report};
use crate::resources::inventory::{Mm2Object, get_mm2};
use crate::resources::strimzi::ConnectorKind;
use crate::topology::Route;
use crate::write::DryRun;
use serde::Serialize;
use serde_json::json;
use std::time::Duration;

/// Schema of `scale` machine output.
pub const SCHEMA: &str = "kubectl-mm2.dev/scale/v1";

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct ScaleRequest {
    pub replicas: Option<i32>,
    pub tasks_max: Option<i32>,
    pub gate: GateFlags,
    pub print_patch: bool,
    pub dry_run: DryRun,
    /// Wait until the workers are ready.
    pub wait: bool,
    pub timeout: Duration,
}

/// Usage errors, found before any cluster is contacted.
pub fn validate(req: &ScaleRequest) -> Result<()> {
    if req.replicas.is_none() && req.tasks_max.is_none() {
        return Err(Error::Usage("give REPLICAS, --tasks-max N, or both".into()));
    }
    if req.replicas.is_some_and(|r| r < 0) {
        return Err(Error::Usage("REPLICAS must be 0 or more".into()));
    }
    if req.tasks_max.is_some_and(|t| t < 1) {
        return Err(Error::Usage("--tasks-max must be 1 or more".into()));
    }
    Ok(())
}

/// What [`decide`] needs to know about the direction.
#[derive(Debug, Clone)]
pub struct ScaleFacts {
    pub mm2: Mm2Object,
    /// The owning Kustomization (not read for `--print-patch`).
    pub flux: Option<FluxReport>,
}

/// The direction, read once.
pub type Prepared<'t> = crate::write::Prepared<'t, ScaleFacts>;

pub async fn prepare<'t>(
    cc: &'t ContextClient,
    route: &'t Route,
    req: &ScaleRequest,
) -> Result<Prepared<'t>> {
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let flux = if req.print_patch {
        None
    } else {
        flux_report(cc, &mm2).await
    };
    Ok(Prepared {
        route,
        cc,
        facts: ScaleFacts { mm2, flux },
    })
}

/// One field's plan.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldPlan {
    Unchanged,
    /// `--print-patch`: the manifest change to commit.
    PrintPatch(String),
    /// Write these JSON patch ops (tasksMax) or this value through `/scale` (replicas).
    Write(Vec<json_patch::PatchOperation>),
}

/// Worth saying before a scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum ScaleWarning {
    /// 0 replicas stops every worker: not a pause.
    ZeroWorkers,
    /// More workers than tasks: some sit idle.
    IdleWorkers { workers: i32, tasks: i32 },
}

/// Everything decided about one scale.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleDecision {
    pub tasks_max: Option<FieldPlan>,
    pub replicas: Option<FieldPlan>,
    pub warnings: Vec<ScaleWarning>,
    /// The Flux step covering every write (a suspension or an override is done once).
    pub flux: FluxStep,
    /// Questions to be answered yes before anything is written, in order.
    pub questions: Vec<String>,
    /// What is written, in words (the questions and a Flux suspension's note say it).
    pub change: String,
}

/// Decide (pure).
pub fn decide(f: &ScaleFacts, route: &Route, req: &ScaleRequest) -> Result<ScaleDecision> {
    let d = &route.direction;
    let (mm2, index) = (&f.mm2, route.mirror_index);
    let mut changes: Vec<(Touches, String)> = vec![];
    let tasks_max = match req.tasks_max {
        None => None,
        Some(n) => Some(
            match lifecycle::plan_tasks_max(&mm2.spec, &mm2.obj.data["spec"], index, n) {
                None => FieldPlan::Unchanged,
                Some(ops) if req.print_patch => FieldPlan::PrintPatch(gitops::print_patch(mm2, &ops)?),
                Some(ops) => {
                    changes.push((Touches::Mirrors, format!("tasksMax={n} on {d}")));
                    FieldPlan::Write(ops)
                }
            },
        ),
    };
    let mut warnings = vec![];
    let mut questions = vec![];
    let replicas = match req.replicas {
        None => None,
        Some(n) if mm2.spec.replicas == Some(n) => Some(FieldPlan::Unchanged),
        Some(n) => {
            let ops = vec![crate::write::patch::add(["spec", "replicas"], json!(n))];
            if req.print_patch {
                Some(FieldPlan::PrintPatch(gitops::print_patch(mm2, &ops)?))
            } else {
                if n == 0 {
                    warnings.push(ScaleWarning::ZeroWorkers);
                    questions.push(format!("Scale {d} to 0 workers?"));
                }
                let tasks = total_tasks(mm2, index, req.tasks_max);
                if n > tasks {
                    warnings.push(ScaleWarning::IdleWorkers { workers: n, tasks });
                }
                changes.push((Touches::Replicas, format!("scale {d} to {n}")));
                Some(FieldPlan::Write(ops))
            }
        }
    };
    let change = changes
        .iter()
        .map(|(_, c)| c.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let mut flux: Option<FluxStep> = None;
    for (touches, _) in &changes {
        let step = flux_gate::decide(mm2, f.flux.as_ref(), *touches, req.gate, &change)?;
        flux = Some(match flux {
            None => step,
            Some(f) => f.strongest(step),
        });
    }
    let flux = flux.unwrap_or(FluxStep::Clear { note: None });
    questions.extend(flux.confirmation(&mm2.context, &change));
    Ok(ScaleDecision {
        tasks_max,
        replicas,
        warnings,
        flux,
        questions,
        change,
    })
}

/// Tasks the workers can share: the source connector's tasksMax plus one per other connector.
pub fn total_tasks(mm2: &Mm2Object, index: usize, new_tasks_max: Option<i32>) -> i32 {
    mm2.spec
        .connector_kinds(index)
        .into_iter()
        .map(|k| match k {
            ConnectorKind::Source => new_tasks_max
                .or_else(|| mm2.spec.connector(index, k).and_then(|c| c.tasks_max))
                .unwrap_or(1),
            _ => 1,
        })
        .sum()
}

/// What a scale did to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldOutcome {
    Written,
    DryRun,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicasChange {
    pub from: Option<i32>,
    pub to: i32,
    /// `None` with `--print-patch`.
    pub outcome: Option<FieldOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TasksMaxChange {
    pub to: i32,
    pub outcome: Option<FieldOutcome>,
}

/// `kubectl mm2 scale -o json|yaml` (`scale/v1`).
#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub schema: &'static str,
    pub direction: String,
    pub mm2: String,
    pub namespace: String,
    pub context: String,
    pub dry_run: DryRun,
    pub replicas: Option<ReplicasChange>,
    pub tasks_max: Option<TasksMaxChange>,
    pub warnings: Vec<ScaleWarning>,
    pub flux: FluxStep,
    /// Workers the wait saw ready (`None`: not waited).
    pub ready_workers: Option<i32>,
}

impl ScaleReport {
    /// The report of a decision before execution (all `--print-patch` needs).
    pub fn planned(f: &ScaleFacts, route: &Route, req: &ScaleRequest, dec: &ScaleDecision) -> Self {
        let outcome = |p: &FieldPlan| match p {
            FieldPlan::Unchanged => Some(FieldOutcome::Unchanged),
            FieldPlan::PrintPatch(_) => None,
            FieldPlan::Write(_) if req.dry_run.writes() => Some(FieldOutcome::Written),
            FieldPlan::Write(_) => Some(FieldOutcome::DryRun),
        };
        ScaleReport {
            schema: SCHEMA,
            direction: route.direction.to_string(),
            mm2: f.mm2.name.clone(),
            namespace: f.mm2.namespace.clone(),
            context: f.mm2.context.clone(),
            dry_run: req.dry_run,
            replicas: req
                .replicas
                .zip(dec.replicas.as_ref())
                .map(|(to, p)| ReplicasChange {
                    from: f.mm2.spec.replicas,
                    to,
                    outcome: outcome(p),
                }),
            tasks_max: req
                .tasks_max
                .zip(dec.tasks_max.as_ref())
                .map(|(to, p)| TasksMaxChange {
                    to,
                    outcome: outcome(p),
                }),
            warnings: dec.warnings.clone(),
            flux: dec.flux.clone(),
            ready_workers: None,
        }
    }
}

/// Progress while executing.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    SuspendedFlux {
        namespace: &'a str,
        kustomization: &'a str,
    },
    /// About to write the object (real writes only).
    Writing {
        mm2: &'a Mm2Object,
    },
    TasksMaxWritten {
        to: i32,
    },
    ReplicasWritten {
        from: Option<i32>,
        to: i32,
    },
    /// Waiting for the workers: what is seen so far.
    Waiting(String),
}

/// Carry out a decision (nothing is asked here: the caller got the answers first).
pub async fn execute(
    p: Prepared<'_>,
    dec: ScaleDecision,
    req: &ScaleRequest,
    mut progress: impl FnMut(Event<'_>),
) -> Result<ScaleReport> {
    let Prepared { route, cc, facts } = p;
    let mut report = ScaleReport::planned(&facts, route, req, &dec);
    let mm2 = &facts.mm2;
    let writes = matches!(dec.tasks_max, Some(FieldPlan::Write(_)))
        || matches!(dec.replicas, Some(FieldPlan::Write(_)));
    if flux_gate::apply(cc, &dec.flux, &dec.change, req.dry_run).await?
        && let FluxStep::Suspend {
            namespace,
            kustomization,
        } = &dec.flux
    {
        progress(Event::SuspendedFlux {
            namespace,
            kustomization,
        });
    }
    if writes && req.dry_run.writes() {
        progress(Event::Writing { mm2 });
    }
    let server_dry_run = req.dry_run == DryRun::Server;
    if let (Some(FieldPlan::Write(ops)), Some(n)) = (&dec.tasks_max, req.tasks_max) {
        if req.dry_run != DryRun::Client {
            lifecycle::json_patch(cc, mm2, ops, server_dry_run).await?;
        }
        progress(Event::TasksMaxWritten { to: n });
    }
    if let (Some(FieldPlan::Write(_)), Some(n)) = (&dec.replicas, req.replicas) {
        if req.dry_run != DryRun::Client {
            lifecycle::scale(cc, mm2, n, server_dry_run).await?;
        }
        progress(Event::ReplicasWritten {
            from: mm2.spec.replicas,
            to: n,
        });
    }
    // An unchanged replica count still waits: a retry after a timeout must not report success
    // while the workers are not ready.
    if let (Some(FieldPlan::Write(_) | FieldPlan::Unchanged), Some(n)) = (&dec.replicas, req.replicas)
        && req.wait
        && req.dry_run.writes()
    {
        lifecycle::wait_scaled(cc, &route.namespace, &route.mm2, n, req.timeout, |l| {
            progress(Event::Waiting(l.to_string()))
        })
        .await?;
        report.ready_workers = Some(n);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direction::Direction;
    use crate::mm2::flux_gate::GateFlags;

    fn facts(replicas: i32, flux_fields: &[&str], flux: bool) -> ScaleFacts {
        let fields: serde_json::Map<String, serde_json::Value> = flux_fields
            .iter()
            .map(|f| (format!("f:{f}"), json!({})))
            .collect();
        let mm2 = Mm2Object::from_json(
            "rciis-aws",
            json!({
                "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
                "metadata": {"name": "mm2-proxmox-to-aws", "namespace": "rciis-prod",
                    "labels": {"kustomize.toolkit.fluxcd.io/name": "kafka", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"},
                    "managedFields": [{"manager": "kustomize-controller", "operation": "Apply",
                                       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": fields}}]},
                "spec": {"connectCluster": "aws", "replicas": replicas,
                         "clusters": [{"alias": "aws"}, {"alias": "proxmox"}],
                         "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws",
                                      "sourceConnector": {"tasksMax": 2}, "checkpointConnector": {}}]}
            }),
        )
        .unwrap();
        let flux = flux.then(|| FluxReport::ready_for_tests(false, "5m"));
        ScaleFacts { mm2, flux }
    }

    fn route() -> Route {
        Route {
            direction: Direction::new("proxmox", "aws"),
            context: "rciis-aws".into(),
            namespace: "rciis-prod".into(),
            mm2: "mm2-proxmox-to-aws".into(),
            mirror_index: 0,
        }
    }

    fn req(replicas: Option<i32>, tasks_max: Option<i32>) -> ScaleRequest {
        ScaleRequest {
            replicas,
            tasks_max,
            gate: GateFlags::default(),
            print_patch: false,
            dry_run: DryRun::None,
            wait: true,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn usage_errors_need_no_cluster() {
        assert!(matches!(validate(&req(None, None)), Err(Error::Usage(_))));
        assert!(matches!(validate(&req(Some(-1), None)), Err(Error::Usage(_))));
        assert!(validate(&req(Some(0), None)).is_ok());
        assert!(validate(&req(None, Some(3))).is_ok());
    }

    #[test]
    fn same_replica_count_is_unchanged_and_asks_nothing() {
        let f = facts(2, &[], false);
        let dec = decide(&f, &route(), &req(Some(2), None)).unwrap();
        assert_eq!(dec.replicas, Some(FieldPlan::Unchanged));
        assert!(dec.questions.is_empty());
        let r = ScaleReport::planned(&f, &route(), &req(Some(2), None), &dec);
        assert_eq!(r.replicas.unwrap().outcome, Some(FieldOutcome::Unchanged));
    }

    #[test]
    fn zero_workers_warns_and_asks() {
        let dec = decide(&facts(1, &[], false), &route(), &req(Some(0), None)).unwrap();
        assert_eq!(dec.warnings, vec![ScaleWarning::ZeroWorkers]);
        assert_eq!(
            dec.questions,
            vec!["Scale proxmox->aws to 0 workers?".to_string()]
        );
    }

    #[test]
    fn more_workers_than_tasks_warns_with_the_new_tasks_max() {
        // source tasksMax 2 + checkpoint 1 = 3 tasks.
        let dec = decide(&facts(1, &[], false), &route(), &req(Some(4), None)).unwrap();
        assert_eq!(
            dec.warnings,
            vec![ScaleWarning::IdleWorkers { workers: 4, tasks: 3 }]
        );
        let dec = decide(&facts(1, &[], false), &route(), &req(Some(4), Some(3))).unwrap();
        assert!(dec.warnings.is_empty(), "{:?}", dec.warnings);
    }

    #[test]
    fn flux_owning_replicas_refuses_unless_told_and_a_suspension_covers_both_fields() {
        let f = facts(1, &["replicas", "mirrors"], true);
        let e = decide(&f, &route(), &req(Some(2), Some(4))).unwrap_err();
        assert!(e.to_string().contains("scale proxmox->aws to 2"), "{e}");
        let mut r = req(Some(2), Some(4));
        r.gate.suspend_flux = true;
        let dec = decide(&f, &route(), &r).unwrap();
        assert!(matches!(dec.flux, FluxStep::Suspend { .. }));
        assert_eq!(dec.questions.len(), 1, "{:?}", dec.questions);
        assert!(dec.questions[0].contains("tasksMax=4 on proxmox->aws and scale proxmox->aws to 2"));
    }

    #[test]
    fn flux_not_setting_replicas_lets_a_scale_through() {
        let f = facts(1, &["mirrors"], true);
        let dec = decide(&f, &route(), &req(Some(2), None)).unwrap();
        assert!(matches!(dec.flux, FluxStep::Clear { note: Some(_) }));
        assert!(dec.questions.is_empty());
    }

    #[test]
    fn print_patch_shows_the_manifest_change_and_writes_nothing() {
        let f = facts(1, &["replicas"], true);
        let mut r = req(Some(3), Some(5));
        r.print_patch = true;
        let dec = decide(&f, &route(), &r).unwrap();
        let Some(FieldPlan::PrintPatch(p)) = &dec.replicas else {
            panic!("{dec:?}")
        };
        assert!(p.contains("replicas: 3"), "{p}");
        let Some(FieldPlan::PrintPatch(p)) = &dec.tasks_max else {
            panic!("{dec:?}")
        };
        assert!(p.contains("tasksMax: 5"), "{p}");
        let rep = ScaleReport::planned(&f, &route(), &r, &dec);
        assert_eq!(rep.replicas.unwrap().outcome, None);
    }
}
