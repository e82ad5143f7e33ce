//! Kafka's own command-line tools, run as short JVMs against the bed's brokers (plain listener):
//! a producer, end offsets, and client quotas. Blocking: call from sync code or `spawn_blocking`.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::{JvmKind, KafkaBed, class_path, java, jvm_opts};

fn run_tool(k: &KafkaBed, main: &str, args: &[String]) -> Result<String> {
    let mut all = jvm_opts("192m", &k.dir().join("log4j2.properties"), JvmKind::Tool);
    // Tools print their results on stdout; keep the log lines off it.
    all.push("-Dlog4j2.level=WARN".into());
    all.extend(["-cp".into(), class_path(), main.into()]);
    all.extend(args.iter().cloned());
    let out = Command::new(java())
        .args(&all)
        .output()
        .with_context(|| format!("run {main}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{main} {} failed ({}):\n{stdout}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// Produces `records` records of `size` bytes to `topic` on `alias` as fast as it can
/// (`ProducerPerformance`, acks=all), creating the topic if needed.
pub fn produce(k: &KafkaBed, alias: &str, topic: &str, records: u64, size: u32) -> Result<()> {
    produce_with(k, alias, topic, records, size, &[])
}

/// [`produce`] with extra producer properties (`key=value`), e.g. a small `batch.size` so the
/// sticky partitioner spreads the records over every partition.
pub fn produce_with(
    k: &KafkaBed,
    alias: &str,
    topic: &str,
    records: u64,
    size: u32,
    props: &[&str],
) -> Result<()> {
    let mut args: Vec<String> = [
        "--topic",
        topic,
        "--num-records",
        &records.to_string(),
        "--record-size",
        &size.to_string(),
        "--throughput",
        "-1",
        "--producer-props",
        &format!("bootstrap.servers={}", k.plain_bootstrap(alias)),
        "acks=all",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(props.iter().map(|s| s.to_string()));
    let out = run_tool(k, "org.apache.kafka.tools.ProducerPerformance", &args)?;
    if !out.contains(&format!("{records} records sent")) {
        bail!("ProducerPerformance did not report {records} records sent:\n{out}");
    }
    Ok(())
}

/// End offset per partition of `topic` on `alias` (empty when the topic does not exist).
pub fn end_offsets(k: &KafkaBed, alias: &str, topic: &str) -> Result<BTreeMap<u32, u64>> {
    let args: Vec<String> = ["--bootstrap-server", &k.plain_bootstrap(alias), "--topic", topic]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = run_tool(k, "org.apache.kafka.tools.GetOffsetShell", &args)?;
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let mut parts = line.rsplitn(3, ':');
        if let (Some(off), Some(p), Some(t)) = (parts.next(), parts.next(), parts.next())
            && t == topic
            && let (Ok(p), Ok(off)) = (p.parse(), off.parse())
        {
            m.insert(p, off);
        }
    }
    Ok(m)
}

/// Sum of the end offsets of `topic` on `alias`.
pub fn total_records(k: &KafkaBed, alias: &str, topic: &str) -> Result<u64> {
    Ok(end_offsets(k, alias, topic)?.values().sum())
}

/// Sets (or with `None` removes) the fetch quota of user `user` on the brokers of `alias`
/// (`kafka-configs.sh --alter --entity-type users`); the brokers throttle that user's consumers.
pub fn consumer_quota(k: &KafkaBed, alias: &str, user: &str, bytes_per_second: Option<u64>) -> Result<()> {
    alter_config(
        k,
        alias,
        "users",
        user,
        "consumer_byte_rate",
        bytes_per_second.map(|b| b.to_string()),
    )
}

/// Sets (or with `None` removes) the topic-level config `key` of `topic` on `alias`
/// (`kafka-configs.sh --alter --entity-type topics`).
pub fn topic_config(k: &KafkaBed, alias: &str, topic: &str, key: &str, value: Option<&str>) -> Result<()> {
    alter_config(k, alias, "topics", topic, key, value.map(str::to_string))
}

fn alter_config(
    k: &KafkaBed,
    alias: &str,
    entity_type: &str,
    entity: &str,
    key: &str,
    value: Option<String>,
) -> Result<()> {
    let mut args: Vec<String> = [
        "--bootstrap-server",
        &k.plain_bootstrap(alias),
        "--alter",
        "--entity-type",
        entity_type,
        "--entity-name",
        entity,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match value {
        Some(v) => args.extend(["--add-config".into(), format!("{key}={v}")]),
        None => args.extend(["--delete-config".into(), key.to_string()]),
    }
    run_tool(k, "kafka.admin.ConfigCommand", &args).map(|_| ())
}

/// Creates `topic` on `alias` with `partitions` partitions (`kafka-topics.sh --create`).
pub fn create_topic(k: &KafkaBed, alias: &str, topic: &str, partitions: u32) -> Result<()> {
    let args: Vec<String> = [
        "--bootstrap-server",
        &k.plain_bootstrap(alias),
        "--create",
        "--if-not-exists",
        "--topic",
        topic,
        "--partitions",
        &partitions.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run_tool(k, "org.apache.kafka.tools.TopicCommand", &args).map(|_| ())
}

/// Commits, for consumer group `group` on `alias`, the end offset of every partition of `topic`
/// (`kafka-consumer-groups.sh --reset-offsets --to-latest --execute`): what a consumer that read
/// everything would have committed, without a consumer JVM polling for seconds.
pub fn commit_group_at_end(k: &KafkaBed, alias: &str, group: &str, topic: &str) -> Result<()> {
    let args: Vec<String> = [
        "--bootstrap-server",
        &k.plain_bootstrap(alias),
        "--group",
        group,
        "--topic",
        topic,
        "--reset-offsets",
        "--to-latest",
        "--execute",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run_tool(
        k,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &args,
    )
    .map(|_| ())
}
