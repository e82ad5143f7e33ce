use super::*;
use crate::lag::model::{GroupCheckpoint, PartitionLag};
use proptest::prelude::*;
use regex::Regex;
use serde_json::json;

const JACKSON: &str = r#"{
  "offsets" : [ {
"partition" : {
  "cluster" : "proxmox",
  "partition" : 1,
  "topic" : "orders"
},
"offset" : {
  "offset" : 41
}
  }, {
"partition" : {
  "cluster" : "proxmox",
  "partition" : 0,
  "topic" : "orders"
},
"offset" : {
  "offset" : 99
}
  } ]
}"#;

#[test]
fn configmap_key_is_strimzis() {
    assert_eq!(
        configmap_key("proxmox->aws.MirrorSourceConnector"),
        "proxmox--aws.MirrorSourceConnector.json"
    );
}

#[test]
fn parses_the_operators_pretty_printed_offsets_sorted() {
    let (o, skipped) = parse_source_offsets(JACKSON).unwrap();
    assert_eq!(skipped, 0);
    assert_eq!(
        o,
        vec![
            SourceOffset {
                cluster: Some("proxmox".into()),
                topic: "orders".into(),
                partition: 0,
                offset: 99
            },
            SourceOffset {
                cluster: Some("proxmox".into()),
                topic: "orders".into(),
                partition: 1,
                offset: 41
            },
        ]
    );
}

#[test]
fn checkpoint_style_and_broken_entries_are_skipped_not_fatal() {
    let text = r#"{"offsets":[{"partition":{"group":"g","topic":"t","partition":0},"offset":{}},{"x":1}]}"#;
    assert_eq!(parse_source_offsets(text).unwrap(), (vec![], 2));
    assert!(parse_source_offsets("[]").is_err());
    assert!(parse_source_offsets("").is_err());
    assert_eq!(parse_source_offsets(r#"{"offsets":[]}"#).unwrap(), (vec![], 0));
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = parse_source_offsets(&s);
    }

    #[test]
    fn parsing_arbitrary_offsets_shaped_json_never_panics(
        topic in proptest::option::of(".{0,8}"),
        partition in proptest::option::of(any::<i64>()),
        offset in proptest::option::of(any::<i64>()),
        as_string in any::<bool>(),
        float in any::<f64>(),
    ) {
        let num = |n: Option<i64>| match n {
            Some(n) if as_string => json!(n.to_string()),
            Some(n) => json!(n),
            None => json!(float),
        };
        let v = json!({"offsets": [{"partition": {"topic": topic, "partition": num(partition)}, "offset": {"offset": num(offset)}}]});
        let (o, skipped) = parse_source_offsets(&v.to_string()).unwrap();
        prop_assert_eq!(o.len() + skipped, 1);
    }

    #[test]
    fn joining_never_panics_on_extreme_numbers(offset in any::<i64>(), lag in any::<f64>()) {
        let o = [SourceOffset { cluster: None, topic: "t".into(), partition: 0, offset }];
        let l = [lag_of("t", 0, Some(lag))];
        let _ = join_partitions(&o, &l);
    }
}

fn lag_of(topic: &str, partition: u32, records_lag: Option<f64>) -> PartitionLag {
    PartitionLag {
        topic: topic.into(),
        remote_topic: format!("proxmox.{topic}"),
        partition,
        records_lag,
        replication_latency_ms: None,
        record_age_ms: None,
        record_rate: None,
        byte_rate: None,
        sources: Default::default(),
    }
}

#[test]
fn partitions_join_both_witnesses_and_estimate_the_source_end() {
    let (o, _) = parse_source_offsets(JACKSON).unwrap();
    let rows = join_partitions(
        &o,
        &[
            lag_of("orders", 0, Some(0.0)),
            lag_of("orders", 1, Some(8.0)),
            lag_of("pay", 0, None),
        ],
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].source_end_estimate, Some(100));
    assert_eq!(rows[0].caught_up, Some(true));
    assert_eq!(rows[1].source_end_estimate, Some(50));
    assert_eq!(rows[1].caught_up, Some(false));
    assert_eq!(rows[2].last_replicated_offset, None);
    assert_eq!(rows[2].caught_up, None);
    assert!(!ready(&rows, &[]));
    assert!(ready(&rows[..1], &[]));
    assert!(!ready(&[], &[]));
}

fn cp(group: &str) -> GroupCheckpoint {
    GroupCheckpoint {
        group: group.into(),
        partitions: 2,
        max_checkpoint_latency_ms: Some(12.0),
        source: crate::lag::model::MetricSource::MirrorCheckpointStrimzi,
    }
}

#[test]
fn default_filter_excludes_what_kafka_excludes() {
    let f = GroupFilter::from_mirror(&json!({}));
    assert_eq!(f.excluded_by("console-consumer-123"), Some("console-consumer-.*"));
    assert_eq!(f.excluded_by("connect-mm2"), Some("connect-.*"));
    assert_eq!(f.excluded_by("__consumer_offsets"), Some("__.*"));
    assert_eq!(f.excluded_by("billing"), None);
    // Full match, not search.
    assert_eq!(f.excluded_by("my-connect-group"), None);
    assert!(f.included("billing"));
}

#[test]
fn strimzi_patterns_win_over_connector_config() {
    let m = json!({"groupsPattern": "billing|audit", "groupsExcludePattern": "audit",
                   "checkpointConnector": {"config": {"groups": ".*", "groups.exclude": "x", "sync.group.offsets.enabled": "true"}}});
    let f = GroupFilter::from_mirror(&m);
    assert!(f.included("billing") && !f.included("other"));
    assert_eq!(f.excluded_by("audit"), Some("audit"));
    assert!(sync_group_offsets_enabled(&m));
    let m = json!({"checkpointConnector": {"config": {"groups.exclude": "a.*, b", "sync.group.offsets.enabled": false}}});
    let f = GroupFilter::from_mirror(&m);
    assert_eq!(f.exclude, vec!["a.*", "b"]);
    assert!(!sync_group_offsets_enabled(&m));
}

#[test]
fn group_verdicts() {
    let f = GroupFilter::from_mirror(&json!({}));
    let named = vec!["connect-sink".to_string(), "ghost".to_string()];
    let rows = judge_groups(&f, &[cp("billing")], Ok(()), None, &named);
    let v: Vec<(&str, String)> = rows
        .iter()
        .map(|r| (r.group.as_str(), r.verdict.describe()))
        .collect();
    assert_eq!(
        v,
        vec![
            (
                "billing",
                "checkpointed since the worker started (2 partitions, last write took ≤12 ms)".to_string()
            ),
            (
                "connect-sink",
                "excluded by groups.exclude (connect-.*)".to_string()
            ),
            ("ghost", "never checkpointed since the worker started".to_string()),
        ]
    );
    let rows = judge_groups(&f, &[], Err("not exported".into()), None, &["ghost".into()]);
    assert_eq!(
        rows[0].verdict,
        GroupVerdict::Unknown {
            why: "not exported".into()
        }
    );
    // --group selects.
    let sel = Regex::new("^bill").unwrap();
    let rows = judge_groups(&f, &[cp("billing"), cp("audit")], Ok(()), Some(&sel), &[]);
    assert_eq!(rows.len(), 1);
    assert_eq!(literal_groups("billing"), vec!["billing"]);
    assert_eq!(
        literal_groups("bill.*|audit|connect-sink"),
        vec!["audit", "connect-sink"]
    );
    assert!(literal_groups("(a|b)").is_empty());
}

#[test]
fn a_group_that_is_not_checkpointed_makes_the_direction_not_ready() {
    let rows = join_partitions(&[], &[lag_of("orders", 0, Some(0.0))]);
    let f = GroupFilter::from_mirror(&json!({}));
    let groups = judge_groups(&f, &[], Ok(()), None, &["ghost".into()]);
    assert!(!ready(&rows, &groups));
    let groups = judge_groups(&f, &[cp("billing")], Ok(()), None, &[]);
    assert!(ready(&rows, &groups));
}
