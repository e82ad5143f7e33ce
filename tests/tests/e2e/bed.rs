//! Checks of the bed itself: clusters, RBAC, kubeconfigs, CRDs, fixtures, the simulated
//! operator and the HTTP doubles.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use mm2_e2e::bed::client_for;
use mm2_e2e::fixtures::{self, mm2_name, mm2_pods};
use mm2_e2e::{ALIASES, Bed, DEFAULT_NS, Layout, PeerSecret, RunbookOptions, bed, crds};
use serde_json::{Value, json};

fn ready(o: &DynamicObject) -> bool {
    o.data["status"]["conditions"]
        .as_array()
        .map(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        .unwrap_or(false)
}

async fn get_mm2(alias: &str, ns: &str, name: &str, version: &str) -> DynamicObject {
    let client = bed().client(alias).await;
    Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2(version))
        .get(name)
        .await
        .expect("get mm2")
}

/// Polls `f` every 100 ms until it returns Some, or panics after `secs`.
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn both_clusters_answer_version() {
    let b = bed();
    for alias in ALIASES {
        let client = b.client(alias).await;
        let v = client.apiserver_version().await.expect("version");
        assert_eq!(v.git_version, "v1.20.2", "{alias}");
        assert!(b.cluster(alias).server.starts_with("https://127.0.0.1:"));
    }
    assert_ne!(b.cluster("aws").server, b.cluster("proxmox").server);
    b.check_alive().expect("control planes alive");
}

#[tokio::test]
async fn kubeconfigs_have_the_expected_contexts() {
    let b = bed();
    let kc = Kubeconfig::read_from(b.kubeconfig()).unwrap();
    let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "rciis-aws",
            "rciis-proxmox",
            "viewer@rciis-aws",
            "viewer@rciis-proxmox"
        ]
    );
    assert_eq!(kc.current_context.as_deref(), Some("rciis-aws"));
    for c in &kc.contexts {
        assert_eq!(c.context.as_ref().unwrap().namespace.as_deref(), Some(DEFAULT_NS));
    }
    let text = std::fs::read_to_string(b.kubeconfig()).unwrap();
    assert!(text.contains("certificate-authority-data"), "CA embedded");

    let vkc = Kubeconfig::read_from(b.viewer_kubeconfig()).unwrap();
    let names: Vec<&str> = vkc.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["rciis-aws", "rciis-proxmox"]);
    for alias in ALIASES {
        let opts = KubeConfigOptions {
            context: Some(format!("rciis-{alias}")),
            ..Default::default()
        };
        let cfg = kube::Config::from_custom_kubeconfig(vkc.clone(), &opts)
            .await
            .unwrap();
        let client = kube::Client::try_from(cfg).unwrap();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), DEFAULT_NS, &crds::mm2("v1beta2"));
        assert_eq!(
            api.list(&ListParams::default()).await.unwrap().items.len(),
            1,
            "{alias}: viewer reads MM2"
        );
        let cms: Api<ConfigMap> = Api::namespaced(client, DEFAULT_NS);
        let err = cms
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
            )
            .await;
        assert!(
            matches!(err, Err(kube::Error::Api(ref s)) if s.code == 403),
            "{alias}: {err:?}"
        );
    }

    // kubectl (v1.32) reads it too.
    let out = b.kubectl(&[
        "--context",
        "rciis-proxmox",
        "get",
        "kafkamirrormaker2.v1beta2.kafka.strimzi.io",
        "-o",
        "name",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "kafkamirrormaker2.kafka.strimzi.io/mm2-proxmox-to-aws"
    );
}

#[tokio::test]
async fn viewer_reads_but_cannot_write() {
    let b = bed();
    for alias in ALIASES {
        let client = b.viewer_client(alias).await;
        let mm2: Api<DynamicObject> = Api::namespaced_with(client.clone(), DEFAULT_NS, &crds::mm2("v1beta2"));
        let o = mm2.get(&mm2_name(alias)).await.expect("viewer can get MM2");
        assert!(
            o.data["status"]["conditions"].is_array(),
            "viewer reads the status too"
        );
        for ar in [crds::service_export(), crds::kafka_user("v1beta2")] {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), DEFAULT_NS, &ar);
            assert!(
                !api.list(&ListParams::default())
                    .await
                    .expect("viewer lists")
                    .items
                    .is_empty()
            );
        }
        let ks: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "flux-system", &crds::kustomization());
        ks.get("kafka").await.expect("viewer reads Kustomization");

        let err = mm2
            .patch(
                &mm2_name(alias),
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 403 && s.is_forbidden()),
            "{err:?}"
        );
        let err = mm2
            .patch_status(
                &mm2_name(alias),
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {}})),
            )
            .await
            .unwrap_err();
        assert!(matches!(&err, kube::Error::Api(s) if s.code == 403), "{err:?}");
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), DEFAULT_NS);
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "viewer-write"}})).unwrap();
        let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
        assert!(matches!(&err, kube::Error::Api(s) if s.code == 403), "{err:?}");
        let secrets: Api<Secret> = Api::namespaced(client, DEFAULT_NS);
        let err = secrets.get("mm2-user").await.unwrap_err();
        assert!(
            matches!(&err, kube::Error::Api(s) if s.code == 403),
            "viewer must not read secrets: {err:?}"
        );
    }
}

#[tokio::test]
async fn mm2_crd_serves_v1_and_v1beta2() {
    let b = bed();
    for alias in ALIASES {
        let client = b.client(alias).await;
        let crds_api: Api<DynamicObject> = Api::all_with(client.clone(), &crds::crd_resource());
        let crd = crds_api.get("kafkamirrormaker2s.kafka.strimzi.io").await.unwrap();
        let versions: BTreeSet<String> = crd.data["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["served"] == true)
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            versions,
            BTreeSet::from(["v1".to_string(), "v1beta2".to_string()])
        );
        let storage: Vec<&str> = crd.data["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["storage"] == true)
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(storage, ["v1beta2"]);
        for v in crd.data["spec"]["versions"].as_array().unwrap() {
            assert_eq!(v["subresources"]["scale"]["specReplicasPath"], ".spec.replicas");
            assert!(v["subresources"]["status"].is_object());
        }
        if let Some(dir) = std::env::var_os("MM2_CRDS_DIR") {
            assert!(
                !crd.metadata
                    .labels
                    .unwrap_or_default()
                    .contains_key("mm2-e2e/fallback"),
                "upstream CRDs from {dir:?}"
            );
        }
        // The other kinds the product reads.
        for name in [
            "kafkausers.kafka.strimzi.io",
            "kafkas.kafka.strimzi.io",
            "kafkanodepools.kafka.strimzi.io",
            "serviceexports.multicluster.x-k8s.io",
            "serviceimports.multicluster.x-k8s.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "gitrepositories.source.toolkit.fluxcd.io",
        ] {
            crds_api
                .get(name)
                .await
                .unwrap_or_else(|e| panic!("{alias}: CRD {name}: {e}"));
        }
    }
}

#[tokio::test]
async fn reading_an_old_shape_mm2_at_v1_prunes_its_topology() {
    for alias in ALIASES {
        let name = mm2_name(alias);
        let b2 = get_mm2(alias, DEFAULT_NS, &name, "v1beta2").await;
        assert_eq!(b2.data["spec"]["connectCluster"], json!(alias));
        assert_eq!(b2.data["spec"]["clusters"].as_array().unwrap().len(), 2);
        let v1 = get_mm2(alias, DEFAULT_NS, &name, "v1").await;
        assert!(
            v1.data["spec"]["clusters"].is_null(),
            "{alias}: v1 read must prune clusters"
        );
        assert!(v1.data["spec"]["connectCluster"].is_null());
        assert!(v1.data["spec"]["mirrors"][0]["sourceCluster"].is_null());
        assert!(v1.data["spec"]["mirrors"][0]["heartbeatConnector"].is_null());
        assert_eq!(v1.data["spec"]["replicas"], 2);
    }
}

#[tokio::test]
async fn runbook_fixtures_match_the_runbook() {
    let b = bed();
    for alias in ALIASES {
        let peer = Bed::peer(alias);
        let o = get_mm2(alias, DEFAULT_NS, &mm2_name(alias), "v1beta2").await;
        let spec = &o.data["spec"];
        assert_eq!(spec["connectCluster"], json!(alias));
        assert_eq!(spec["version"], "4.1.0");
        assert_eq!(
            spec["clusters"][1]["bootstrapServers"],
            json!(format!(
                "kafka-bootstrap-{peer}.rciis-prod.svc.clusterset.local:9092"
            ))
        );
        assert_eq!(
            spec["clusters"][1]["authentication"]["passwordSecret"]["secretName"],
            json!(format!("mm2-user-{peer}"))
        );
        assert_eq!(
            spec["mirrors"][0]["topicsExcludePattern"],
            ".*[\\-\\.]internal|__.*"
        );
        let (connect_rf, target_rf) = if alias == "proxmox" { (3, 1) } else { (1, 3) };
        assert_eq!(
            spec["clusters"][0]["config"]["config.storage.replication.factor"],
            connect_rf
        );
        assert_eq!(
            spec["mirrors"][0]["sourceConnector"]["config"]["replication.factor"],
            target_rf
        );
        assert_eq!(
            spec["mirrors"][0]["sourceConnector"]["config"]["sync.topic.acls.enabled"],
            "false"
        );
        assert_eq!(spec["jvmOptions"]["-Xmx"], "3072m");
        let labels = o.metadata.labels.clone().unwrap();
        assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], "kafka");
        assert_eq!(labels["kustomize.toolkit.fluxcd.io/namespace"], "flux-system");
        let managers: Vec<String> = o
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| m.manager.clone())
            .collect();
        assert!(
            managers.iter().any(|m| m == "kustomize-controller"),
            "{managers:?}"
        );

        // The Flux Kustomization.
        let client = b.client(alias).await;
        let ks: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "flux-system", &crds::kustomization());
        let ks = ks.get("kafka").await.unwrap();
        assert_eq!(
            ks.data["spec"]["path"],
            json!(format!("./flux/apps/{alias}/kafka"))
        );
        assert!(ready(&ks));
        let inv = ks.data["status"]["inventory"]["entries"].to_string();
        assert!(
            inv.contains(&format!(
                "rciis-prod_{}_kafka.strimzi.io_KafkaMirrorMaker2",
                mm2_name(alias)
            )),
            "{inv}"
        );

        // Kafka: aws has the -Xmx 8192m vs 2Gi problem the runbook warns about.
        let kafka: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), DEFAULT_NS, &crds::kafka("v1beta2"));
        let k = kafka.get("kafka-rciis-prod").await.unwrap();
        assert_eq!(k.data["spec"]["kafka"]["jvmOptions"]["-Xmx"], "8192m");
        let pools: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), DEFAULT_NS, &crds::node_pool("v1beta2"));
        let p = pools.get("dual-role").await.unwrap();
        let (replicas, limit) = if alias == "aws" { (1, "2Gi") } else { (3, "8Gi") };
        assert_eq!(p.data["spec"]["replicas"], replicas);
        assert_eq!(p.data["spec"]["resources"]["limits"]["memory"], limit);

        // The user Secret as the User Operator makes it.
        let users: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), DEFAULT_NS, &crds::kafka_user("v1beta2"));
        let u = users.get("mm2-user").await.unwrap();
        let s = Api::<Secret>::namespaced(client.clone(), DEFAULT_NS)
            .get("mm2-user")
            .await
            .unwrap();
        let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.api_version, "kafka.strimzi.io/v1");
        assert_eq!(owner.kind, "KafkaUser");
        assert_eq!(Some(&owner.uid), u.metadata.uid.as_ref());
        let pw = fixtures::password_of(b, alias, DEFAULT_NS).await.unwrap();
        assert_eq!(pw.len(), 32);
        let jaas = String::from_utf8(s.data.as_ref().unwrap()["sasl.jaas.config"].0.clone()).unwrap();
        assert!(jaas.contains(&format!("password=\"{pw}\"")));
    }
}

/// One namespace with the working layout, shared by the bed tests that need running MM2s.
async fn working_ns() -> &'static str {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    const NS: &str = "t-bed-working";
    ONCE.get_or_init(|| async {
        fixtures::install_working(bed(), NS)
            .await
            .expect("working layout");
    })
    .await;
    NS
}

#[tokio::test]
async fn operator_rejects_the_runbook_layout_exactly_as_strimzi_0_51() {
    // KafkaMirrorMaker2Cluster.validateAndUpdateToNewAPI + AbstractOperator at 0.51.0: one
    // NotReady InvalidResourceException condition, then the DeprecatedFields warnings; no
    // replicas, url, labelSelector or connectors; no pods.
    let b = bed();
    for alias in ALIASES {
        let name = mm2_name(alias);
        let o = get_mm2(alias, DEFAULT_NS, &name, "v1beta2").await;
        let st = &o.data["status"];
        let conds = st["conditions"].as_array().expect("conditions");
        assert_eq!(conds[0]["type"], "NotReady", "{st}");
        assert_eq!(conds[0]["status"], "True");
        assert_eq!(conds[0]["reason"], "InvalidResourceException");
        assert_eq!(
            conds[0]["message"],
            "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias."
        );
        assert!(conds[0]["lastTransitionTime"].is_string());
        let warnings: BTreeSet<&str> = conds[1..]
            .iter()
            .inspect(|c| {
                assert_eq!(
                    (&c["type"], &c["reason"]),
                    (&json!("Warning"), &json!("DeprecatedFields"))
                )
            })
            .map(|c| c["message"].as_str().unwrap())
            .collect();
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(warnings.contains(
            format!(
                "In resource KafkaMirrorMaker2({DEFAULT_NS}/{name}) in API version kafka.strimzi.io/v1beta2 the \
                 connectCluster property at path spec.connectCluster has been deprecated, and should now be \
                 configured using .spec.target. The `connectCluster` property is deprecated and will be removed \
                 in the `v1` CRD API."
            )
            .as_str()
        ));
        assert_eq!(st["observedGeneration"].as_i64(), o.metadata.generation);
        let keys: BTreeSet<&str> = st.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["conditions", "observedGeneration"]), "{st}");
        let pods: Api<Pod> = Api::namespaced(b.client(alias).await, DEFAULT_NS);
        let lp = kube::api::ListParams::default().labels(&format!("strimzi.io/cluster={name}"));
        assert!(
            pods.list(&lp).await.unwrap().items.is_empty(),
            "no pods for a rejected MM2"
        );
    }
}

#[tokio::test]
async fn operator_makes_working_mm2_ready_with_pods() {
    let b = bed();
    let ns = working_ns().await;
    for alias in ALIASES {
        // The working layout: the MM2 in `alias` replicates peer->alias.
        let peer = Bed::peer(alias);
        let name = format!("mm2-{peer}-to-{alias}");
        let o = get_mm2(alias, ns, &name, "v1beta2").await;
        let st = &o.data["status"];
        assert!(ready(&o), "{st}");
        assert_eq!(st["observedGeneration"].as_i64(), o.metadata.generation);
        assert_eq!(
            st["url"],
            json!(format!("http://{name}-mirrormaker2-api.{ns}.svc:8083"))
        );
        assert_eq!(st["replicas"], 2);
        let names: Vec<&str> = st["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                format!("{peer}->{alias}.MirrorCheckpointConnector"),
                format!("{peer}->{alias}.MirrorHeartbeatConnector"),
                format!("{peer}->{alias}.MirrorSourceConnector"),
            ]
        );
        let source = &st["connectors"][2];
        assert_eq!(source["connector"]["state"], "RUNNING");
        assert_eq!(source["tasks"].as_array().unwrap().len(), 5);
        assert!(
            source["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["state"] == "RUNNING")
        );
        assert!(
            source["connector"]["worker_id"]
                .as_str()
                .unwrap()
                .ends_with(&format!(".{name}-mirrormaker2.{ns}.svc:8083"))
        );
        let sel: BTreeSet<&str> = st["labelSelector"].as_str().unwrap().split(',').collect();
        assert!(sel.contains(format!("strimzi.io/cluster={name}").as_str()));
        // Deprecated v1beta2 fields are flagged like Strimzi does.
        assert!(
            st["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["type"] == "Warning" && c["reason"] == "DeprecatedFields")
        );

        let client = b.client(alias).await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
        let nets = mm2_e2e::bed::PodIps::nets(alias);
        for p in mm2_pods(&name, 2) {
            let pod = pods.get(&p).await.unwrap();
            let s = pod.status.unwrap();
            assert_eq!(s.phase.as_deref(), Some("Running"));
            let ip: std::net::Ipv4Addr = s.pod_ip.as_deref().unwrap().parse().unwrap();
            assert!(
                ip.octets()[..2] == [198, 18] && nets.contains(&ip.octets()[2]),
                "{ip} outside {alias}'s pod networks"
            );
            let labels = pod.metadata.labels.unwrap();
            assert_eq!(labels["strimzi.io/cluster"], name);
            assert_eq!(labels["strimzi.io/kind"], "KafkaMirrorMaker2");
            assert_eq!(labels["app"], "kafka-mirrormaker2");
            assert!(!labels.contains_key("kustomize.toolkit.fluxcd.io/name"));
        }
        // The scale subresource works with the status the operator writes.
        let mm2: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &crds::mm2("v1beta2"));
        let scale = mm2.get_scale(&name).await.unwrap();
        assert_eq!(scale.status.unwrap().replicas, 2);
    }
}

#[tokio::test]
async fn services_get_endpoints_from_broker_pods() {
    let b = bed();
    for alias in ALIASES {
        let client = b.client(alias).await;
        let eps: Api<Endpoints> = Api::namespaced(client, DEFAULT_NS);
        let want = if alias == "aws" { 1 } else { 3 };
        let svc = format!("kafka-bootstrap-{alias}");
        let n = eventually(60, "endpoints", || {
            let eps = eps.clone();
            let svc = svc.clone();
            async move {
                let e = eps.get_opt(&svc).await.ok().flatten()?;
                let n: usize = e
                    .subsets
                    .unwrap_or_default()
                    .iter()
                    .map(|s| s.addresses.as_ref().map_or(0, |a| a.len()))
                    .sum();
                (n == want).then_some(n)
            }
        })
        .await;
        assert_eq!(n, want);
    }
}

#[tokio::test]
async fn metrics_and_connect_rest_through_the_pod_proxy() {
    let b = bed();
    let alias = "aws";
    let ns = working_ns().await;
    let name = "mm2-proxmox-to-aws";
    let pod = format!("{name}-mirrormaker2-0");
    let text = "# TYPE kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms gauge\n\
kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms{partition=\"0\",source=\"proxmox\",target=\"aws\",topic=\"proxmox.rect\",} 42.0\n";
    b.doubles().set_metrics(alias, ns, &pod, text);
    let client = b.client(alias).await;
    let req = http::Request::get(format!("/api/v1/namespaces/{ns}/pods/{pod}:9404/proxy/metrics"))
        .body(vec![])
        .unwrap();
    let got = client
        .request_text(req)
        .await
        .expect("metrics through the pod proxy");
    assert_eq!(got, text);
    assert!(
        b.doubles()
            .requests(alias, ns, &pod)
            .iter()
            .any(|r| r.port == 9404 && r.path() == "/metrics")
    );

    // Connect REST, from the connector status the operator wrote.
    let req = http::Request::get(format!(
        "/api/v1/namespaces/{ns}/pods/{pod}:8083/proxy/connectors?expand=status"
    ))
    .body(vec![])
    .unwrap();
    let body: Value = serde_json::from_str(&client.request_text(req).await.unwrap()).unwrap();
    let o = get_mm2(alias, ns, name, "v1beta2").await;
    for c in o.data["status"]["connectors"].as_array().unwrap() {
        let n = c["name"].as_str().unwrap();
        assert_eq!(&body[n]["status"], c, "{n}");
    }
    let req = http::Request::get(format!(
        "/api/v1/namespaces/{ns}/pods/{pod}:8083/proxy/connectors/proxmox%2D%3Eaws.MirrorSourceConnector/status"
    ))
    .body(vec![])
    .unwrap();
    let st: Value = serde_json::from_str(&client.request_text(req).await.unwrap()).unwrap();
    assert_eq!(st["connector"]["state"], "RUNNING");

    // An overridden route.
    b.doubles().set_route(
        &mm2_e2e::doubles::PodKey::new(alias, ns, &pod),
        9404,
        "GET",
        "/metrics",
        mm2_e2e::HttpResponse::text(500, "boom"),
    );
    let req = http::Request::get(format!("/api/v1/namespaces/{ns}/pods/{pod}:9404/proxy/metrics"))
        .body(vec![])
        .unwrap();
    let err = client.request_text(req).await.unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 500 && s.message.contains("boom")),
        "{err:?}"
    );
    b.doubles().clear_routes(alias, ns, &pod);
}

#[tokio::test]
async fn operator_follows_spec_and_test_hooks() {
    let b = bed();
    let ns = "t-bed-operator";
    let alias = "proxmox";
    let name = fixtures::install_mm2_v1(b, ns, alias).await.expect("v1 MM2");
    assert_eq!(name, "mm2-aws-to-proxmox");
    let client = b.client(alias).await;
    let v1: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &crds::mm2("v1"));
    let o = v1.get(&name).await.unwrap();
    assert!(ready(&o));
    let names: Vec<&str> = o.data["status"]["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "aws->proxmox.MirrorCheckpointConnector",
            "aws->proxmox.MirrorSourceConnector"
        ]
    );
    assert!(
        !o.data["status"]["conditions"]
            .to_string()
            .contains("DeprecatedFields")
    );

    let status_of = |want: &'static str| {
        let v1 = v1.clone();
        let name = name.clone();
        move || {
            let v1 = v1.clone();
            let name = name.clone();
            async move {
                let o = v1.get(&name).await.ok()?;
                let st = &o.data["status"];
                (st["observedGeneration"].as_i64() == o.metadata.generation && st.to_string().contains(want))
                    .then_some(o)
            }
        }
    };

    // Stop the source connector: STOPPED with no tasks, after the reconcile delay.
    let t0 = Instant::now();
    let patch = json!({"spec": {"mirrors": [{"source": o.data["spec"]["mirrors"][0]["source"],
        "sourceConnector": {"tasksMax": 2, "state": "stopped"}, "checkpointConnector": {}}]}});
    v1.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let o = eventually(20, "STOPPED", status_of("STOPPED")).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "the operator answers after a delay"
    );
    let src = &o.data["status"]["connectors"][1];
    assert_eq!(src["connector"]["state"], "STOPPED");
    assert_eq!(src["tasks"], json!([]));
    assert!(ready(&o));

    // A FAILED connector makes the CR NotReady.
    let ann = |k: &str, v: Option<&str>| json!({"metadata": {"annotations": {k: v}}});
    v1.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(ann(
            "test.mm2.dev/fail-connector",
            Some("aws->proxmox.MirrorCheckpointConnector"),
        )),
    )
    .await
    .unwrap();
    let o = eventually(
        20,
        "NotReady",
        status_of("One or more connectors are in FAILED state"),
    )
    .await;
    assert!(!ready(&o));
    assert!(
        o.data["status"]["connectors"][0]["connector"]["trace"]
            .as_str()
            .unwrap()
            .starts_with("org.apache.kafka.connect.errors.ConnectException: simulated failure\n\tat ")
    );
    v1.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(ann("test.mm2.dev/fail-connector", None)),
    )
    .await
    .unwrap();
    eventually(20, "Ready again", || {
        let v1 = v1.clone();
        let name = name.clone();
        async move { v1.get(&name).await.ok().filter(ready) }
    })
    .await;

    // Scale to 2 through the scale subresource: a second pod appears.
    v1.patch_scale(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod1 = format!("{name}-mirrormaker2-1");
    eventually(20, "second pod running", || {
        let pods = pods.clone();
        let pod1 = pod1.clone();
        async move { pods.get_opt(&pod1).await.ok().flatten()?.status?.pod_ip }
    })
    .await;

    // Paused reconciliation: ReconciliationPaused, nothing else.
    v1.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(ann("strimzi.io/pause-reconciliation", Some("true"))),
    )
    .await
    .unwrap();
    let o = eventually(20, "paused", || {
        let v1 = v1.clone();
        let name = name.clone();
        async move {
            v1.get(&name)
                .await
                .ok()
                .filter(|o| o.data["status"].to_string().contains("ReconciliationPaused"))
        }
    })
    .await;
    assert!(o.data["status"]["connectors"].is_null());
    assert!(!ready(&o));
    v1.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(ann("strimzi.io/pause-reconciliation", None)),
    )
    .await
    .unwrap();
    eventually(20, "unpaused Ready", || {
        let v1 = v1.clone();
        let name = name.clone();
        async move { v1.get(&name).await.ok().filter(ready) }
    })
    .await;

    // Frozen: the operator no longer answers.
    v1.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(ann("test.mm2.dev/operator", Some("frozen"))),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let gen_before = v1.get(&name).await.unwrap().data["status"]["observedGeneration"].clone();
    v1.patch_scale(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 1}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let o = v1.get(&name).await.unwrap();
    assert_eq!(
        o.data["status"]["observedGeneration"], gen_before,
        "frozen objects are not reconciled"
    );
    assert_ne!(
        o.data["status"]["observedGeneration"].as_i64(),
        o.metadata.generation
    );
    assert!(
        pods.get_opt(&pod1).await.unwrap().is_some(),
        "frozen: pods untouched"
    );
}

#[tokio::test]
async fn jq_copied_secret_is_garbage_collected_like_on_a_real_cluster() {
    let b = bed();
    // The default install copies the peer's Secret with its ownerReference to the peer's
    // KafkaUser uid; the garbage collector deletes it because this cluster's KafkaUser has
    // another uid.
    for alias in ALIASES {
        let client = b.client(alias).await;
        let secrets: Api<Secret> = Api::namespaced(client, DEFAULT_NS);
        let copy = format!("mm2-user-{}", Bed::peer(alias));
        eventually(90, "GC of the jq copy", || {
            let secrets = secrets.clone();
            let copy = copy.clone();
            async move { secrets.get_opt(&copy).await.ok()?.is_none().then_some(()) }
        })
        .await;
        assert!(
            secrets.get_opt("mm2-user").await.unwrap().is_some(),
            "the user's own Secret stays"
        );
    }
}

#[tokio::test]
async fn runbook_in_its_own_namespace_with_clean_peer_secrets() {
    let b = bed();
    let ns = "t-bed-clean";
    let rb = fixtures::install_runbook_with(
        b,
        ns,
        RunbookOptions {
            peer_secret: PeerSecret::Clean,
            layout: Layout::Working,
        },
    )
    .await
    .unwrap();
    // Idempotent.
    let rb2 = fixtures::install_runbook_with(
        b,
        ns,
        RunbookOptions {
            peer_secret: PeerSecret::Clean,
            layout: Layout::Working,
        },
    )
    .await
    .unwrap();
    assert_eq!(rb.passwords, rb2.passwords);
    assert_ne!(rb.password("aws"), rb.password("proxmox"));
    for alias in ALIASES {
        let peer = Bed::peer(alias);
        let o = get_mm2(alias, ns, &format!("mm2-{peer}-to-{alias}"), "v1beta2").await;
        assert_eq!(
            o.data["spec"]["clusters"][1]["bootstrapServers"],
            json!(format!("kafka-bootstrap-{peer}.{ns}.svc.clusterset.local:9092"))
        );
        assert!(ready(&o));
        let client = b.client(alias).await;
        let secrets: Api<Secret> = Api::namespaced(client, ns);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let copy = secrets
            .get(&format!("mm2-user-{peer}"))
            .await
            .expect("clean copy survives the GC");
        assert!(copy.metadata.owner_references.is_none());
        let pw = String::from_utf8(copy.data.unwrap()["password"].0.clone()).unwrap();
        assert_eq!(pw, rb.password(peer));
    }
}

#[tokio::test]
async fn dead_context_times_out() {
    let b = bed();
    let path = b.kubeconfig_with_dead_context("proxmox");
    let mut client_ok = client_for(&path, "rciis-aws").await.unwrap();
    assert!(client_ok.apiserver_version().await.is_ok());
    let kc = Kubeconfig::read_from(&path).unwrap();
    let opts = KubeConfigOptions {
        context: Some("rciis-proxmox".into()),
        ..Default::default()
    };
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &opts).await.unwrap();
    cfg.connect_timeout = Some(Duration::from_secs(2));
    cfg.default_retry = false;
    let client = kube::Client::try_from(cfg).unwrap();
    let t0 = Instant::now();
    let err = client.apiserver_version().await.unwrap_err();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(
        matches!(err, kube::Error::Service(_) | kube::Error::HyperError(_)),
        "{err:?}"
    );
    client_ok = b.client("proxmox").await;
    assert!(
        client_ok.apiserver_version().await.is_ok(),
        "the real cluster is untouched"
    );
}

#[tokio::test]
async fn extra_cluster_can_be_stopped() {
    let b = bed();
    let extra = b.spawn_extra_cluster("rciis-edge").await.expect("extra cluster");
    let kc = Kubeconfig::read_from(&extra.kubeconfig).unwrap();
    assert!(kc.contexts.iter().any(|c| c.name == "rciis-edge"));
    assert!(kc.contexts.iter().any(|c| c.name == "rciis-aws"));
    let client = client_for(&extra.kubeconfig, "rciis-edge").await.unwrap();
    assert_eq!(client.apiserver_version().await.unwrap().git_version, "v1.20.2");
    let mm2: Api<DynamicObject> = Api::namespaced_with(client.clone(), DEFAULT_NS, &crds::mm2("v1beta2"));
    assert!(mm2.list(&ListParams::default()).await.unwrap().items.is_empty());
    extra.stop();
    let client = client_for(&extra.kubeconfig, "rciis-edge").await.unwrap();
    let err = client.apiserver_version().await.unwrap_err();
    let chain = format!("{:#}", anyhow::Error::from(err));
    assert!(
        chain.contains("Connection refused") || chain.contains("connection refused"),
        "{chain}"
    );
}

#[tokio::test]
async fn test_namespaces_can_be_deleted() {
    use k8s_openapi::api::core::v1::Namespace;
    let b = bed();
    let ns = "t-bed-nsdel";
    let alias = "aws";
    let name = fixtures::install_mm2_v1(b, ns, alias).await.unwrap();
    let client = b.client(alias).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    assert!(
        pods.get_opt(&format!("{name}-mirrormaker2-0"))
            .await
            .unwrap()
            .is_some()
    );
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.delete(ns, &Default::default()).await.unwrap();
    eventually(90, "namespace deletion", || {
        let nss = nss.clone();
        async move { nss.get_opt(ns).await.ok()?.is_none().then_some(()) }
    })
    .await;
}

/// `curl` straight at a kubelet double, with or without the API server's client certificate.
fn curl_kubelet(c: &mm2_e2e::Cluster, path: &str, with_client_cert: bool) -> (u16, String) {
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sk", "-o", "-", "-w", "\n%{http_code}"]);
    if with_client_cert {
        cmd.arg("--cert")
            .arg(c.dir.join("kubelet-client.crt"))
            .arg("--key")
            .arg(c.dir.join("kubelet-client.key"));
    }
    let url = format!("https://{}:{}{path}", c.advertise, mm2_e2e::kubelet::KUBELET_PORT);
    let out = cmd.arg(url).output().expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.parse().expect("status code"), body.to_string())
}

#[tokio::test]
async fn container_logs_come_from_the_kubelet_of_the_pods_node() {
    let b = bed();
    let alias = "aws";
    // Its own namespace: other tests scale the MM2s of the shared working one.
    let ns = "t-bed-kubelet";
    fixtures::install_working(b, ns).await.expect("working layout");
    let pod = "mm2-proxmox-to-aws-mirrormaker2-1";
    let container = "mm2-proxmox-to-aws-mirrormaker2";
    let now = k8s_openapi::jiff::Timestamp::now();
    let k = b.kubelets();
    k.append_log(
        alias,
        ns,
        pod,
        container,
        now - k8s_openapi::jiff::SignedDuration::from_hours(2),
        "an old line",
    );
    k.append_log(alias, ns, pod, container, now, "INFO second-to-last");
    k.append_log(alias, ns, pod, container, now, "INFO the last line");
    let logs = |extra: &[&str]| {
        let mut args = vec!["--context", "rciis-aws", "-n", ns, "logs", pod, "-c", container];
        args.extend_from_slice(extra);
        let out = b.kubectl(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };

    // kubectl → the real API server → this node's kubelet, the query passed along.
    assert_eq!(logs(&["--tail=2"]), "INFO second-to-last\nINFO the last line\n");
    assert!(
        k.requests(alias, ns)
            .iter()
            .any(|r| r.target == format!("/containerLogs/{ns}/{pod}/{container}?tailLines=2")),
        "{:?}",
        k.requests(alias, ns)
    );
    let all = logs(&[]);
    assert!(all.starts_with("an old line\n"), "{all}");
    assert!(all.contains("Kafka Connect started"), "{all}");
    let recent = logs(&["--since=1h"]);
    assert!(
        !recent.contains("an old line") && recent.contains("Kafka Connect started"),
        "{recent}"
    );
    let stamped = logs(&["--tail=1", "--timestamps"]);
    let (at, text) = stamped.trim_end().split_once(' ').unwrap();
    assert_eq!(text, "INFO the last line");
    assert_eq!(at.parse::<k8s_openapi::jiff::Timestamp>().unwrap(), now);

    // What the kubelet itself says, which the API server's own checks usually pre-empt.
    let c = b.cluster(alias);
    let (code, body) = curl_kubelet(c, &format!("/containerLogs/{ns}/{pod}/{container}"), false);
    assert_eq!((code, body.as_str()), (401, "Unauthorized"));
    let (code, body) = curl_kubelet(c, &format!("/containerLogs/{ns}/no-such-pod/{container}"), true);
    assert_eq!(
        (code, body.as_str()),
        (404, "pod \"no-such-pod\" does not exist\n")
    );
    let (code, body) = curl_kubelet(c, &format!("/containerLogs/{ns}/{pod}/sidecar"), true);
    assert_eq!(
        (code, body.as_str()),
        (
            404,
            format!("container \"sidecar\" not found in pod \"{pod}\"\n").as_str()
        )
    );
    let (code, _) = curl_kubelet(
        c,
        &format!("/containerLogs/{ns}/{pod}/{container}?tailLines=-1"),
        true,
    );
    assert_eq!(code, 422);
}
