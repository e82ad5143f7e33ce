#!/usr/bin/env bash
# Captures the real-Kafka golden files of mm2-core/testdata/real/ (see the README there):
# two Kafka 4.1.1 KRaft brokers (`proxmox`, `aws`; SCRAM-SHA-512 on 9092, plain on 9093), one
# Kafka Connect worker running MirrorMaker 2 proxmox->aws in the target cluster, configured as
# Strimzi 0.51 configures it, with the JMX exporter agent 1.5.0 on 9404 — first with the
# runbook's metrics rules, then with Strimzi 0.51's example rules.
#
#   sh tests/netns-run.sh bash scripts/kafka/capture-goldens.sh mm2-core/testdata/real
#
# Run it inside a private network namespace (only 127.0.0.0/8 is used); it needs the cache of
# scripts/kafka-fetch.sh and takes about a minute.
set -euo pipefail
out="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
K="${MM2_KAFKA_HOME:-$HOME/.cache/kubectl-mm2/kafka/4.1.1}"
W="$(mktemp -d /tmp/mm2-capture.XXXXXX)"
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
JAVA=(java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "-Dlog4j2.configurationFile=$W/log4j2.properties")
cat > "$W/log4j2.properties" <<'L4J'
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %-5p [%t] %c{1}:%L - %m%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = STDOUT
L4J
declare -A IP=([aws]=127.0.0.11 [proxmox]=127.0.0.12)
WORKER=127.0.0.21
for c in aws proxmox; do
  ip=${IP[$c]}; mkdir -p "$W/$c"
  cat > "$W/$c/server.properties" <<P
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$ip:9094
controller.listener.names=CONTROLLER
listeners=SASL_PLAINTEXT://$ip:9092,PLAINTEXT://$ip:9093,CONTROLLER://$ip:9094
advertised.listeners=SASL_PLAINTEXT://$ip:9092,PLAINTEXT://$ip:9093
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$W/$c/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
P
  "${JAVA[@]}" -cp "$K/lib/*" kafka.tools.StorageTool format -t MkU3OEVBNTcwNTJENDM2Qg \
    -c "$W/$c/server.properties" --add-scram "SCRAM-SHA-512=[name=mm2-user,password=pw-$c]" > "$W/$c/format.log"
  "${JAVA[@]}" -cp "$K/lib/*" kafka.Kafka "$W/$c/server.properties" > "$W/$c/broker.log" 2>&1 &
done
wait_port() { for _ in $(seq 120); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.5; done; echo "no $1:$2" >&2; return 1; }
for c in aws proxmox; do wait_port "${IP[$c]}" 9093; done
echo "brokers up" >&2
"${JAVA[@]}" -cp "$K/lib/*" org.apache.kafka.tools.ProducerPerformance --topic orders --num-records 20000 \
  --record-size 100 --throughput -1 --producer-props "bootstrap.servers=${IP[proxmox]}:9093" acks=1 >&2

# Password files as Strimzi mounts them (DirectoryConfigProvider: the key is the file name).
mkdir -p "$W/mm2-password/proxmox/mm2-user-proxmox" "$W/mm2-password/aws/mm2-user" "$W/connect-password/mm2-user" "$W/plugins"
printf '%s' pw-proxmox > "$W/mm2-password/proxmox/mm2-user-proxmox/password"
printf '%s' pw-aws > "$W/mm2-password/aws/mm2-user/password"
printf '%s' pw-aws > "$W/connect-password/mm2-user/password"
jaas() { printf 'org.apache.kafka.common.security.scram.ScramLoginModule required username="mm2-user" password="${strimzidir:%s:password}";' "$1"; }
WJ="$(jaas "$W/connect-password/mm2-user")"
{
  echo "bootstrap.servers=${IP[aws]}:9092"
  echo "group.id=mirrormaker2-cluster"
  echo "config.storage.topic=mirrormaker2-cluster-configs"
  echo "status.storage.topic=mirrormaker2-cluster-status"
  echo "offset.storage.topic=mirrormaker2-cluster-offsets"
  echo "rest.advertised.host.name=$WORKER"
  echo "rest.advertised.port=8083"
  echo "listeners=http://$WORKER:8083"
  echo "plugin.path=$W/plugins"
  for p in "" producer. consumer. admin.; do echo "${p}sasl.mechanism=SCRAM-SHA-512"; echo "${p}sasl.jaas.config=$WJ"; done
  echo "config.providers=strimzienv,strimzifile,strimzidir"
  echo "config.providers.strimzienv.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider"
  echo "config.providers.strimzienv.param.allowlist.pattern=.*"
  echo "config.providers.strimzifile.class=org.apache.kafka.common.config.provider.FileConfigProvider"
  echo "config.providers.strimzidir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider"
  echo "config.providers.strimzidir.param.allowed.paths=$W"
  for p in "" admin. producer. consumer.; do echo "${p}metric.reporters=org.apache.kafka.common.metrics.JmxReporter"; done
  for c in key value header; do echo "$c.converter=org.apache.kafka.connect.converters.ByteArrayConverter"; done
  for t in config offset status; do echo "$t.storage.replication.factor=-1"; done
  for p in "" producer. consumer. admin.; do echo "${p}security.protocol=SASL_PLAINTEXT"; done
} > "$W/connect.properties"

connector_config() { # $1 = class suffix
  python3 - "$1" "$W" "${IP[aws]}" "${IP[proxmox]}" <<'PY'
import json, sys
kind, w, aws, proxmox = sys.argv[1:]
def cluster(prefix, alias, ip, secret):
    jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="mm2-user" password="${strimzidir:%s/mm2-password/%s/%s:password}";' % (w, alias, secret)
    return {prefix + "alias": alias, prefix + "bootstrap.servers": ip + ":9092",
            prefix + "sasl.mechanism": "SCRAM-SHA-512", prefix + "sasl.jaas.config": jaas,
            prefix + "security.protocol": "SASL_PLAINTEXT"}
c = {}
c.update(cluster("target.cluster.", "aws", aws, "mm2-user"))
c.update(cluster("source.cluster.", "proxmox", proxmox, "mm2-user-proxmox"))
if kind == "MirrorSourceConnector":
    c.update({"replication.factor": "-1", "offset-syncs.topic.replication.factor": "-1",
              "sync.topic.acls.enabled": "false", "refresh.topics.interval.seconds": "5"})
else:
    c.update({"checkpoints.topic.replication.factor": "-1", "emit.checkpoints.interval.seconds": "5",
              "refresh.groups.interval.seconds": "5"})
c.update({"topics": "orders", "groups": ".*", "tasks.max": "1",
          "connector.class": "org.apache.kafka.connect.mirror." + kind})
print(json.dumps(c))
PY
}
rest() { curl -sS -m 10 -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "http://$WORKER:8083$2"; }
start_connect() { # $1 = rules file
  "${JAVA[@]}" "-javaagent:$K/agent/testbed-jmx-agent-1.5.0.jar=$WORKER:9404:$1" \
    -cp "$K/lib/*" org.apache.kafka.connect.cli.ConnectDistributed "$W/connect.properties" > "$W/connect.log" 2>&1 &
  CONNECT=$!
  for _ in $(seq 120); do curl -sf -m 2 "http://$WORKER:8083/connectors" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "Connect did not start" >&2; tail -50 "$W/connect.log" >&2; return 1
}
wait_replicated() {
  for _ in $(seq 120); do
    # (no `curl | grep -q`: grep's early exit would fail the pipe under pipefail)
    m="$(curl -s "http://$WORKER:9404/metrics")"
    grep -q '^kafka_connect_source_task_source_record_write_total{.*} 20000.0' <<<"$m" && return 0
    sleep 0.5
  done
  return 1
}
rules_of() { python3 -c 'import sys,yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind")=="ConfigMap": sys.stdout.write(list(d["data"].values())[0])' "$1"; }

cp "$repo/mm2-core/testdata/runbook/mm2-metrics-config.yml" "$W/runbook-rules.yml"
git -C "${STRIMZI_REPO:-/work/.mirror/strimzi+strimzi-kafka-operator/repo}" show 0.51.0:packaging/examples/metrics/kafka-mirror-maker-2-metrics.yaml > "$W/strimzi-cm.yaml"
rules_of "$W/strimzi-cm.yaml" > "$W/strimzi-rules.yml"

# 1. Strimzi 0.51 example rules (these export the poll/write totals, used to wait for the copy).
start_connect "$W/strimzi-rules.yml"
mkdir -p "$W/cfg"
for k in MirrorSourceConnector MirrorCheckpointConnector; do
  connector_config $k > "$W/cfg/$k.json"
  rest PUT "/connectors/proxmox-%3Eaws.$k/config" "@$W/cfg/$k.json" >/dev/null
done
wait_replicated || {
  echo "not replicated; status: $(rest GET '/connectors?expand=status')" >&2
  curl -s "http://$WORKER:9404/metrics" | grep -E 'source_record_(poll|write)_total' >&2 || true
  grep -E 'ERROR|Exception' "$W/connect.log" | head -20 >&2
  exit 1
}
sleep 3
curl -s "http://$WORKER:9404/metrics" > "$out/metrics-strimzi-0.51-rules.txt"
rest GET '/connectors?expand=status' > "$out/connectors-expand-status.json"
rest PUT '/connectors/proxmox-%3Eaws.MirrorSourceConnector/pause' >/dev/null
for _ in $(seq 40); do st="$(rest GET '/connectors?expand=status')"; grep -q '"PAUSED".*"PAUSED"' <<<"$st" && break; sleep 0.5; done
rest GET '/connectors?expand=status' > "$out/connectors-expand-status-paused.json"
rest PUT '/connectors/proxmox-%3Eaws.MirrorSourceConnector/resume' >/dev/null
kill "$CONNECT"; wait "$CONNECT" || true

# 2. The runbook's rules, on the same worker state.
start_connect "$W/runbook-rules.yml"
for _ in $(seq 60); do st="$(rest GET '/connectors?expand=status')"; grep -q '"tasks":\[{"id":0,"state":"RUNNING"' <<<"$st" && break; sleep 0.5; done
sleep 5
curl -s "http://$WORKER:9404/metrics" > "$out/metrics-runbook-rules.txt"
kill "$CONNECT"; wait "$CONNECT" || true
echo "captured into $out" >&2
