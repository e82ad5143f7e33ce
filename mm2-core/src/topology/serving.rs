//! Which KafkaMirrorMaker2 acts for a direction, and when a command must refuse to pick one.
//!
//! A direction may be named by several MM2s: the runbook's (rejected by Strimzi) next to the one
//! that runs, mid-migration, or the same pair in two clusters. Reads prefer the one that runs;
//! writes refuse when the choice would leave something replicating behind the user's back, and
//! refuse on a rejected MM2 instead of waiting for an operator that will never converge.

use crate::clients::ContextClient;
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::resources::inventory::Mm2Object;
use crate::topology::layout::{self, Rejection};
use crate::topology::{Route, Topology};

/// One MM2 that names the direction, judged.
#[derive(Debug, Clone)]
pub struct Candidate<'t> {
    pub route: &'t Route,
    pub mm2: &'t Mm2Object,
    pub rejection: Option<Rejection>,
}

impl Candidate<'_> {
    fn at(&self) -> String {
        format!("{}/{} in {}", self.mm2.namespace, self.mm2.name, self.mm2.context)
    }
}

/// Every MM2 that names `d`, the ones that run first.
pub fn candidates<'t>(topo: &'t Topology, d: &Direction) -> Vec<Candidate<'t>> {
    let mut out: Vec<Candidate<'t>> = topo
        .routes_for(d)
        .into_iter()
        .filter_map(|route| {
            let mm2 = topo.mm2(route)?;
            let rejection = layout::judge(&mm2.obj.data["spec"], mm2.status.as_ref(), mm2.generation());
            Some(Candidate {
                route,
                mm2,
                rejection,
            })
        })
        .collect();
    out.sort_by_key(|c| c.rejection.is_some());
    out
}

/// The error when no MM2 names `d`: the unreachable/forbidden context it would live in, or the
/// directions that do exist.
pub fn not_found(topo: &Topology, d: &Direction) -> Error {
    if let Some(e) = topo.problem_for(d) {
        return e.clone();
    }
    let known: Vec<String> = topo.directions().iter().map(|d| d.to_string()).collect();
    Error::Topology(format!(
        "no KafkaMirrorMaker2 runs {d}; known directions: {}",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

/// Why a write to `d` is refused, if it is: every MM2 rejected, or more than one running.
/// Pure: unit-tested without a cluster.
pub fn write_refusal(d: &Direction, cands: &[Candidate<'_>]) -> Option<Error> {
    let running: Vec<&Candidate<'_>> = cands.iter().filter(|c| c.rejection.is_none()).collect();
    match running.len() {
        1 => None,
        0 => {
            let c = cands.first()?;
            let r = c.rejection.as_ref()?;
            Some(Error::Refused {
                reason: format!(
                    "{} is rejected by Strimzi ({}: {}): it runs no connector, so there is nothing to change and no operator that would ever converge",
                    c.at(),
                    r.reason,
                    r.message
                ),
                hint: match &r.fix {
                    Some(f) => format!("{}; `{f}` prints the manifests of a layout that runs, for Git", r.explanation),
                    None => r.explanation.clone(),
                },
            })
        }
        _ => Some(Error::Refused {
            reason: format!(
                "{d} is served by {} KafkaMirrorMaker2s ({}): a write to one leaves the other replicating, and both write every record into the target",
                running.len(),
                running.iter().map(|c| c.at()).collect::<Vec<_>>().join(", ")
            ),
            hint: "delete the duplicate from its Flux path (see `kubectl mm2 status`), or restrict the command to one with --context".into(),
        }),
    }
}

/// What the user named: a direction, or one KafkaMirrorMaker2 by its `metadata.name` (which
/// may differ from `mm2-<source>-to-<target>`: `mm2-proxmox-to-aws-dup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub directions: Vec<Direction>,
    /// Set when an MM2 was named: only it may be acted on.
    pub mm2: Option<String>,
}

/// The directions a read command's optional argument names ([`select`]); empty: all of them.
pub fn directions_named(topo: &Topology, arg: Option<&str>) -> Result<Vec<Direction>> {
    match arg {
        Some(a) => Ok(select(topo, a)?.directions),
        None => Ok(vec![]),
    }
}

/// Read `arg` as the name of an MM2 of the topology first (exact match), then as a direction.
pub fn select(topo: &Topology, arg: &str) -> Result<Selection> {
    let named: Vec<&Mm2Object> = topo.mm2s.iter().filter(|m| m.name == arg).collect();
    if !named.is_empty() {
        let mut directions: Vec<Direction> = topo
            .routes
            .iter()
            .filter(|r| r.mm2 == arg)
            .map(|r| r.direction.clone())
            .collect();
        directions.sort();
        directions.dedup();
        return Ok(Selection {
            directions,
            mm2: Some(arg.to_string()),
        });
    }
    Ok(Selection {
        directions: vec![crate::direction::parse(arg, &topo.aliases())?],
        mm2: None,
    })
}

/// The route and client a write to `d` goes through, or why not.
pub fn writable<'t>(topo: &'t Topology, d: &Direction) -> Result<(&'t Route, &'t ContextClient)> {
    writable_named(topo, d, None)
}

/// The one MM2 a write to `d` may go to, given the user's argument: when it named an MM2 (not a
/// direction), only that MM2.
pub fn writable_for_arg<'t>(
    topo: &'t Topology,
    d: &Direction,
    arg: Option<&str>,
) -> Result<(&'t Route, &'t ContextClient)> {
    let only = arg.and_then(|a| select(topo, a).ok()).and_then(|s| s.mm2);
    writable_named(topo, d, only.as_deref())
}

/// [`writable`], restricted to the MM2 named `only` when the user named one.
pub fn writable_named<'t>(
    topo: &'t Topology,
    d: &Direction,
    only: Option<&str>,
) -> Result<(&'t Route, &'t ContextClient)> {
    let mut cands = candidates(topo, d);
    if let Some(name) = only {
        cands.retain(|c| c.mm2.name == name);
    }
    if cands.is_empty() {
        return Err(not_found(topo, d));
    }
    if let Some(e) = write_refusal(d, &cands) {
        return Err(e);
    }
    let route = cands[0].route;
    if let Some(others) = topo.undecided_identities.get(&route.context) {
        return Err(Error::Refused {
            reason: format!(
                "contexts {} and {} point at the same API server and nothing says which identity should write {d}",
                route.context,
                others.join(", ")
            ),
            hint: format!(
                "choose: --context {} (or one of the others), make it the current context, or map the alias in the clusterset config",
                route.context
            ),
        });
    }
    let cc = topo
        .clients
        .get(&route.context)
        .ok_or_else(|| Error::Topology(format!("no client for {}", route.context)))?;
    Ok((route, cc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::validation::INVALID_REASON;
    use kube::core::{ApiResource, DynamicObject, ObjectMeta};
    use serde_json::json;

    fn mm2(ctx: &str, connect: &str) -> Mm2Object {
        let spec = json!({"connectCluster": connect,
            "clusters": [{"alias": "proxmox"}, {"alias": "aws"}],
            "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws"}]});
        let ar = ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&());
        let obj = DynamicObject {
            types: None,
            metadata: ObjectMeta {
                name: Some("mm2-proxmox-to-aws".into()),
                namespace: Some("rciis-prod".into()),
                generation: Some(1),
                ..Default::default()
            },
            data: json!({"spec": spec}),
        };
        Mm2Object {
            context: ctx.into(),
            namespace: "rciis-prod".into(),
            name: "mm2-proxmox-to-aws".into(),
            version: "v1beta2".into(),
            ar,
            spec: crate::resources::strimzi::Mm2Spec::parse(&obj.data["spec"]).unwrap(),
            obj,
            status: None,
        }
    }

    fn route(ctx: &str) -> Route {
        Route {
            direction: Direction::new("proxmox", "aws"),
            context: ctx.into(),
            namespace: "rciis-prod".into(),
            mm2: "mm2-proxmox-to-aws".into(),
            mirror_index: 0,
        }
    }

    fn cand<'t>(r: &'t Route, m: &'t Mm2Object) -> Candidate<'t> {
        Candidate {
            route: r,
            mm2: m,
            rejection: layout::judge(&m.obj.data["spec"], None, Some(1)),
        }
    }

    #[test]
    fn a_rejected_runbook_mm2_refuses_with_the_way_out() {
        let (r, m) = (route("rciis-proxmox"), mm2("rciis-proxmox", "proxmox"));
        let d = Direction::new("proxmox", "aws");
        let e = write_refusal(&d, &[cand(&r, &m)]).expect("refused");
        let Error::Refused { reason, hint } = e else {
            panic!()
        };
        assert!(reason.contains("rejected by Strimzi"), "{reason}");
        assert!(reason.contains(INVALID_REASON));
        assert!(hint.contains("kubectl mm2 convert proxmox:aws"), "{hint}");
    }

    #[test]
    fn a_leftover_next_to_the_one_that_runs_is_not_ambiguous() {
        let (r1, m1) = (route("rciis-proxmox"), mm2("rciis-proxmox", "proxmox"));
        let (r2, m2) = (route("rciis-aws"), mm2("rciis-aws", "aws"));
        let d = Direction::new("proxmox", "aws");
        let mut c = vec![cand(&r1, &m1), cand(&r2, &m2)];
        c.sort_by_key(|c| c.rejection.is_some());
        assert!(write_refusal(&d, &c).is_none());
        assert_eq!(c[0].mm2.context, "rciis-aws");
    }

    #[test]
    fn two_running_mm2s_refuse_and_name_both() {
        let (r1, m1) = (route("rciis-aws"), mm2("rciis-aws", "aws"));
        let (r2, m2) = (route("rciis-aws-2"), mm2("rciis-aws-2", "aws"));
        let d = Direction::new("proxmox", "aws");
        let e = write_refusal(&d, &[cand(&r1, &m1), cand(&r2, &m2)]).expect("ambiguous");
        let msg = e.to_string();
        assert!(msg.contains("rciis-aws,") && msg.contains("rciis-aws-2"), "{msg}");
        assert!(msg.contains("served by 2"));
    }
}
