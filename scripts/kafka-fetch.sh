#!/usr/bin/env bash
# Fetches, once, the Kafka half of the test bed into a cache outside the repository:
#   ~/.cache/kubectl-mm2/kafka/<kafka version>/lib/    Kafka 4.1 broker, Connect, MirrorMaker 2, tools
#   ~/.cache/kubectl-mm2/kafka/<kafka version>/agent/  the Prometheus JMX exporter agent 1.5.0
# Resolved with Maven (pinned in scripts/kafka/*.xml); nothing is fetched once the tests run in
# their network namespace. Installs maven and a Java 17 JDK with apt when missing.
#
# The JMX exporter agent jar 1.5.0 is not served by the registry this project may use, but its
# rule engine (io.prometheus.jmx:collector 1.5.0) and its HTTP/text-format libraries are: the
# project's own agent (scripts/kafka/agent/, a few lines that wire them the way the upstream agent
# does) is compiled here against them. The libraries sit beside it in agent/lib (Class-Path in the
# manifest) — only snakeyaml overlaps with Kafka's class path (2.4 vs 2.5, same API).
#
# Prints the cache folder on its last line (logs go to stderr); MM2_KAFKA_HOME in the tests.
set -euo pipefail
cd "$(dirname "$0")"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' kafka/pom.xml)"
AGENT_VERSION=1.5.0
CACHE="${MM2_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mm2/kafka/$KAFKA_VERSION}"
log() { printf '► %s\n' "$*" >&2; }

STAMP="kafka $KAFKA_VERSION, testbed-jmx-agent on io.prometheus.jmx:collector $AGENT_VERSION"
# The stamp names what the cache holds: a cache made by another recipe is rebuilt.
if [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$STAMP" ]; then
  log "using cached Kafka $KAFKA_VERSION and JMX exporter $AGENT_VERSION in $CACHE"
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
echo "$CACHE"
