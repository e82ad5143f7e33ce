#!/usr/bin/env bash
# Builds the two binaries the test bed needs (kube-apiserver and kube-controller-manager v1.20.2)
# from Debian's source package, once, into a cache outside the repository, and installs the
# Debian packages the bed uses (etcd, iproute2, openssl ...), and fetches Kafka through
# scripts/kafka-fetch.sh.
#
# Why Debian's source: it is the only Kubernetes source with a vendor/ tree that the package
# registries reachable here carry (see ../shared/testbed/RECIPE.md). Why 1.20.2: newer Debian
# sources are client-only.
#
# Prints the folder holding the binaries on its last line (the envtest convention:
# export KUBEBUILDER_ASSETS="$(scripts/testbed.sh | tail -n1)").
set -euo pipefail

VERSION=v1.20.2
CACHE="${MM2_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mm2/testbed/$VERSION}"
log() { printf '► %s\n' "$*" >&2; }

need_pkgs=()
for p in etcd-server iproute2 util-linux openssl jq curl ca-certificates; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  apt_install "${need_pkgs[@]}"
fi

# The Kafka half of the bed (Kafka 4.1 jars, the JMX exporter agent), fetched once with Maven.
"$(dirname "$0")/kafka-fetch.sh" >&2

if [ -x "$CACHE/kube-apiserver" ] && [ -x "$CACHE/kube-controller-manager" ]; then
  log "using cached Kubernetes $VERSION binaries in $CACHE"
  echo "$CACHE"
  exit 0
fi

log "building kube-apiserver and kube-controller-manager $VERSION (first run only, ~8-10 min)"
# Enable source packages (deb822 format on Debian 12, one-line format on older images).
if [ -f /etc/apt/sources.list.d/debian.sources ] && ! grep -q '^Types:.*deb-src' /etc/apt/sources.list.d/debian.sources; then
  as_root sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
  apt_updated=0
fi
if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list && ! grep -q '^deb-src ' /etc/apt/sources.list; then
  as_root sh -c "sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >> /etc/apt/sources.list"
  apt_updated=0
fi
apt_install golang-go dpkg-dev rsync golang-github-modern-go-reflect2-dev make

work="$(mktemp -d "${TMPDIR:-/tmp}/mm2-testbed-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq kubernetes >&2
src="$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
cd "$src"
export GOPATH="$PWD/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor
mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
# The vendored modern-go/reflect2 1.0.1 crashes under Go 1.19 on the first custom-resource
# write ("fatal error: fault" in map iteration). Debian's 1.0.2 fixes it.
rm -rf vendor/github.com/modern-go/reflect2
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
rm -f vendor/github.com/modern-go/reflect2/go.mod
unset GOFLAGS
# Debian's Go (1.19) explicitly: these machines put a much newer Go first on PATH, and
# Kubernetes 1.20's build scripts and vendored code are only known to work with Debian's.
DEBIAN_GO_BIN=/usr/lib/go/bin
if [ ! -x "$DEBIAN_GO_BIN/go" ]; then
  echo "testbed: $DEBIAN_GO_BIN/go missing after installing golang-go" >&2
  exit 1
fi
export PATH="$DEBIAN_GO_BIN:$PATH" GOTOOLCHAIN=local
log "building with $("$DEBIAN_GO_BIN/go" version)"
gohome="$(mktemp -d)"
env HOME="$gohome" make WHAT=cmd/kube-apiserver >&2
env HOME="$gohome" make WHAT=cmd/kube-controller-manager >&2
chmod -R u+w "$gohome" 2>/dev/null || true; rm -rf "$gohome"
mkdir -p "$CACHE"
cp _output/local/bin/linux/*/kube-apiserver _output/local/bin/linux/*/kube-controller-manager "$CACHE/"
chmod -R u+w "$work" 2>/dev/null || true
log "built into $CACHE"
echo "$CACHE"
