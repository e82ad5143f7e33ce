#!/usr/bin/env bash
# Fetches, once, the Kafka half of the test bed into a cache outside the repository:
#   ~/.cache/kubectl-mm2/kafka/<kafka version>/lib/    Kafka 4.1 broker, Connect, MirrorMaker 2, tools
#   ~/.cache/kubectl-mm2/kafka/<kafka version>/agent/  the Prometheus JMX exporter agent 1.5.0
#   ~/.cache/kubectl-mm2/kafka/<kafka version>/cds/    class-data sharing archives (see below)
# Resolved with Maven (pinned in scripts/kafka/*.xml); nothing is fetched once the tests run in
# their network namespace. Installs maven and a Java 17 JDK with apt when missing.
#
# The JMX exporter agent jar 1.5.0 is not served by the registry this project may use, but its
# rule engine (io.prometheus.jmx:collector 1.5.0) and its HTTP/text-format libraries are: the
# project's own agent (scripts/kafka/agent/, a few lines that wire them the way the upstream agent
# does) is compiled here against them. The libraries sit beside it in agent/lib (Class-Path in the
# manifest) — only snakeyaml overlaps with Kafka's class path (2.4 vs 2.5, same API).
#
# Class-data sharing: every bed JVM start is seconds of CPU on 2 shared cores, much of it loading
# and verifying classes from the jars. Once per cache and Java, a throwaway broker and Connect
# worker (MirrorMaker 2 connectors running) run with -XX:ArchiveClassesAtExit and are stopped
# gracefully; they write cds/{broker,connect}-<java runtime version>.jsa, which the bed maps with
# -XX:SharedArchiveFile (tests/src/kafka/mod.rs). This runs outside the tests' network namespace,
# in a private one of its own when unshare works, else on 127.0.0.1 ports 29093, 29094 and 28083. It never fails the
# fetch: without an archive the bed's JVMs just start slower.
#
# Prints the cache folder on its last line (logs go to stderr); MM2_KAFKA_HOME in the tests.
set -euo pipefail
cd "$(dirname "$0")"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' kafka/pom.xml)"
AGENT_VERSION=1.5.0
CACHE="${MM2_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mm2/kafka/$KAFKA_VERSION}"
log() { printf '► %s\n' "$*" >&2; }

STAMP="kafka $KAFKA_VERSION, testbed-jmx-agent on io.prometheus.jmx:collector $AGENT_VERSION"

# The java the bed runs (tests/src/kafka/mod.rs java(): $JAVA_HOME/bin/java, else PATH).
java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; else command -v java; fi
}

# A throwaway broker and Connect worker in the scratch folder $1, each writing its archive to
# $1/{broker,connect}.jsa at its graceful exit.
cds_train() {
  local t="$1" java cp bpid wpid c body
  java="$(java_bin)"
  cp="$CACHE/lib/*"
  # As tests/src/kafka/mod.rs jvm_opts() (the archive's flags must be compatible with the bed's).
  local opts=(-Xms64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ActiveProcessorCount=2
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$t/log4j2.properties")
  printf '%s\n' 'name = cds' 'appender.console.type = Console' 'appender.console.name = STDOUT' \
    'appender.console.layout.type = PatternLayout' 'appender.console.layout.pattern = %d %-5p [%t] %c{1} - %m%n' \
    'rootLogger.level = INFO' 'rootLogger.appenderRef.console.ref = STDOUT' > "$t/log4j2.properties"
  printf '%s\n' process.roles=broker,controller node.id=1 controller.quorum.voters=1@127.0.0.1:29094 \
    controller.listener.names=CONTROLLER \
    listeners=PLAINTEXT://127.0.0.1:29093,CONTROLLER://127.0.0.1:29094 \
    advertised.listeners=PLAINTEXT://127.0.0.1:29093 \
    listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT \
    inter.broker.listener.name=PLAINTEXT "log.dirs=$t/data" offsets.topic.replication.factor=1 \
    offsets.topic.num.partitions=3 transaction.state.log.replication.factor=1 \
    share.coordinator.state.topic.replication.factor=1 group.initial.rebalance.delay.ms=0 \
    num.network.threads=2 num.io.threads=2 > "$t/server.properties"
  "$java" "${opts[@]}" -Xmx256m -cp "$cp" kafka.tools.StorageTool format -t MkU3OEVBNTcwNTJENDM2Qg \
    -c "$t/server.properties" > "$t/format.log" 2>&1
  "$java" "${opts[@]}" -Xmx256m "-XX:ArchiveClassesAtExit=$t/broker.jsa" -cp "$cp" kafka.Kafka \
    "$t/server.properties" > "$t/broker.log" 2>&1 &
  bpid=$!
  for _ in $(seq 900); do grep -q 'Kafka Server started' "$t/broker.log" && break; sleep 0.1; done
  # As mm2::worker_properties (tests/src/kafka/mm2/model.rs), on the plain listener.
  mkdir -p "$t/plugins"
  printf '%s\n' bootstrap.servers=127.0.0.1:29093 group.id=cds config.storage.topic=cds-configs \
    status.storage.topic=cds-status offset.storage.topic=cds-offsets \
    config.storage.replication.factor=1 offset.storage.replication.factor=1 \
    status.storage.replication.factor=1 listeners=http://127.0.0.1:28083 "plugin.path=$t/plugins" \
    plugin.discovery=service_load config.providers=strimzienv,strimzifile,strimzidir \
    config.providers.strimzienv.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider \
    config.providers.strimzifile.class=org.apache.kafka.common.config.provider.FileConfigProvider \
    config.providers.strimzidir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider \
    metric.reporters=org.apache.kafka.common.metrics.JmxReporter \
    key.converter=org.apache.kafka.connect.converters.ByteArrayConverter \
    value.converter=org.apache.kafka.connect.converters.ByteArrayConverter \
    header.converter=org.apache.kafka.connect.converters.ByteArrayConverter \
    scheduled.rebalance.max.delay.ms=0 > "$t/connect.properties"
  "$java" "${opts[@]}" -Xmx384m "-XX:ArchiveClassesAtExit=$t/connect.jsa" -cp "$cp" \
    org.apache.kafka.connect.cli.ConnectDistributed "$t/connect.properties" > "$t/connect.log" 2>&1 &
  wpid=$!
  for _ in $(seq 600); do curl -sf http://127.0.0.1:28083/connectors >/dev/null && break; sleep 0.2; done
  # The three MirrorMaker 2 connectors, mirroring the heartbeats topic a->b on the one broker, so
  # that the source task consumes and produces.
  for c in MirrorSourceConnector MirrorCheckpointConnector MirrorHeartbeatConnector; do
    curl -sf -X PUT -H 'Content-Type: application/json' "http://127.0.0.1:28083/connectors/a-b.$c/config" \
      -d '{"connector.class": "org.apache.kafka.connect.mirror.'"$c"'",
           "source.cluster.alias": "a", "target.cluster.alias": "b",
           "source.cluster.bootstrap.servers": "127.0.0.1:29093",
           "target.cluster.bootstrap.servers": "127.0.0.1:29093",
           "topics": "heartbeats", "groups": ".*", "refresh.topics.interval.seconds": "1",
           "replication.factor": "1", "offset-syncs.topic.replication.factor": "1",
           "checkpoints.topic.replication.factor": "1", "heartbeats.topic.replication.factor": "1",
           "emit.heartbeats.interval.seconds": "1", "emit.checkpoints.interval.seconds": "1"}' \
      >/dev/null || true
  done
  # Running: three connectors, the source task and the heartbeat task.
  for _ in $(seq 300); do
    body="$(curl -sf 'http://127.0.0.1:28083/connectors?expand=status' || true)"
    [ "$(printf '%s' "$body" | grep -o '"state":"RUNNING"' | wc -l)" -ge 5 ] && break
    sleep 0.2
  done
  sleep 3
  kill -TERM "$wpid"; wait "$wpid" || true
  kill -TERM "$bpid"; wait "$bpid" || true
}

# Makes the missing archives of the machine's Java (see the header); never fails.
cds_archives() {
  local java version dir t k kept=""
  java="$(java_bin)" || return 0
  version="$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"$/\1/p' "$(dirname "$(readlink -f "$java")")/../release" 2>/dev/null \
    | tr -c 'A-Za-z0-9._\n-' _)"
  [ -n "$version" ] || { log "no JAVA_RUNTIME_VERSION for $java: no class-data sharing archives"; return 0; }
  dir="$CACHE/cds"
  [ -f "$dir/broker-$version.jsa" ] && [ -f "$dir/connect-$version.jsa" ] && return 0
  command -v curl >/dev/null 2>&1 || { log "no curl: no class-data sharing archives"; return 0; }
  log "making class-data sharing archives for Java $version (a throwaway broker and Connect worker, ~30 s)"
  mkdir -p "$dir"
  t="$(mktemp -d "${TMPDIR:-/tmp}/mm2-kafka-cds.XXXXXX")"
  if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
    unshare --net bash -c "ip link set lo up 2>/dev/null; $(declare -f java_bin cds_train); CACHE='$CACHE' cds_train '$t'" \
      > "$t/train.log" 2>&1 || true
  else
    (cds_train "$t") > "$t/train.log" 2>&1 || true
  fi
  for k in broker connect; do
    # Checked before it is visible: a truncated archive crashes the JVMs that map it.
    if [ -s "$t/$k.jsa" ] && "$java" -Xshare:on "-XX:SharedArchiveFile=$t/$k.jsa" -cp "$CACHE/lib/*" -version >/dev/null 2>&1; then
      mv -f "$t/$k.jsa" "$dir/.$k-$version.jsa.$$" && mv -f "$dir/.$k-$version.jsa.$$" "$dir/$k-$version.jsa"
      log "class-data sharing archive $dir/$k-$version.jsa"
    else
      log "no class-data sharing archive for the $k JVMs (logs kept in $t)"
      kept=1
    fi
  done
  [ -n "$kept" ] || rm -rf "$t"
}

# The stamp names what the cache holds: a cache made by another recipe is rebuilt.
if [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$STAMP" ]; then
  log "using cached Kafka $KAFKA_VERSION and JMX exporter $AGENT_VERSION in $CACHE"
  cds_archives
  echo "$CACHE"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need_pkgs=()
command -v mvn >/dev/null 2>&1 || need_pkgs+=(maven)
if ! { command -v javac >/dev/null 2>&1 && javac -version 2>&1 | grep -Eq 'javac (1[7-9]|2[0-9])'; }; then
  need_pkgs+=(openjdk-17-jdk-headless)
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/mm2-kafka-fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "resolving Kafka $KAFKA_VERSION (broker, Connect, MirrorMaker 2, tools) with Maven"
mvn -B -q -f kafka/pom.xml dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >&2
log "resolving the JMX exporter $AGENT_VERSION's rule engine and libraries; building the bed's agent"
mvn -B -q -f kafka/agent-pom.xml dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp/agent/lib" >&2
mkdir -p "$tmp/classes"
javac --release 11 -nowarn -encoding UTF-8 -d "$tmp/classes" -cp "$tmp/agent/lib/*" \
  kafka/agent/src/dev/kubectlmm2/testbed/TestbedJmxAgent.java >&2
{
  echo "Premain-Class: dev.kubectlmm2.testbed.TestbedJmxAgent"
  echo "Implementation-Title: kubectl-mm2 test bed JMX agent (io.prometheus.jmx:collector $AGENT_VERSION)"
  echo "Implementation-Version: $AGENT_VERSION"
  # Class-Path lines are at most 72 bytes: one jar per continuation line.
  printf 'Class-Path:'
  for j in $(cd "$tmp/agent" && ls lib/*.jar); do printf ' %s\n ' "$j"; done
  echo
} | sed '$ { /^ *$/d }' > "$tmp/manifest.txt"
jar cfm "$tmp/agent/testbed-jmx-agent-$AGENT_VERSION.jar" "$tmp/manifest.txt" -C "$tmp/classes" . >&2

mkdir -p "$(dirname "$CACHE")"
rm -rf "$CACHE"
mkdir -p "$CACHE"
mv "$tmp/lib" "$tmp/agent" "$CACHE/"
echo "$STAMP" > "$CACHE/.complete"
log "fetched into $CACHE"
cds_archives
echo "$CACHE"
