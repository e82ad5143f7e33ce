#!/usr/bin/env bash
# Builds the release archives of kubectl-mm2 and kubectl-clusterset, their SHA256SUMS, and the
# krew manifests filled from the templates in plugins/ (version, uri, sha256 per platform).
#
#   scripts/release.sh                      # every platform the installed toolchains can build
#   scripts/release.sh --version v0.2.0 --targets x86_64-unknown-linux-gnu
#   scripts/release.sh --bin-dir target/debug --out /tmp/rel   # package prebuilt host binaries (tests)
#
# Output (default target/release-artifacts/<version>/):
#   kubectl-mm2_<os>_<arch>.tar.gz          kubectl-mm2, kubectl_complete-mm2 (sh shim), LICENSE, README.md
#   kubectl-clusterset_<os>_<arch>.tar.gz   (zip with .exe for windows)
#   SHA256SUMS
#   plugins/mm2.yaml, plugins/clusterset.yaml   ← submit these to krew-index
#
# The committed plugins/*.yaml are templates with @VERSION@/@URI_*@/@SHA256_*@ placeholders; a
# platform whose archive was not built is left out of the generated manifest. Cross targets are
# only built when `rustup target list --installed` has them (nothing is downloaded); a cross build
# that fails (no linker, no SDK) is skipped with a warning, the host build must succeed.
#
# Options:
#   --version vX.Y.Z   default: v<workspace version>
#   --targets "T ..."  Rust target triples (default: installed ones among those listed below)
#   --bin-dir DIR      do not build; package DIR/kubectl-{mm2,clusterset} for the host platform
#   --out DIR          output directory
#   --base-url URL     where the archives will be downloaded from
#                      (default: https://github.com/rciis/kubectl-mm2/releases/download/<version>)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

log() { printf '► %s\n' "$*" >&2; }
warn() { printf '⚠ %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

version="" targets="" bin_dir="" out="" base_url=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --base-url) base_url="$2"; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

if [ -z "$version" ]; then
  v="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)"
  [ -n "$v" ] || die "cannot read the workspace version from Cargo.toml"
  version="v$v"
fi
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "version '$version' is not v-prefixed semver"
out="${out:-${CARGO_TARGET_DIR:-$root/target}/release-artifacts/$version}"
base_url="${base_url:-https://github.com/rciis/kubectl-mm2/releases/download/$version}"
plugins=(mm2 clusterset)

# Rust target → krew os/arch (Go GOOS/GOARCH names). musl before gnu: a static binary runs on any
# distribution, so it wins when both are installed.
platform_of() {
  case "$1" in
    x86_64-unknown-linux-musl|x86_64-unknown-linux-gnu) echo linux_amd64 ;;
    aarch64-unknown-linux-musl|aarch64-unknown-linux-gnu) echo linux_arm64 ;;
    x86_64-apple-darwin) echo darwin_amd64 ;;
    aarch64-apple-darwin) echo darwin_arm64 ;;
    x86_64-pc-windows-gnu|x86_64-pc-windows-msvc) echo windows_amd64 ;;
    *) return 1 ;;
  esac
}
known_targets="x86_64-unknown-linux-musl x86_64-unknown-linux-gnu aarch64-unknown-linux-musl aarch64-unknown-linux-gnu x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc x86_64-pc-windows-gnu"
host="$(rustc -vV | sed -n 's/^host: //p')"
host_platform="$(platform_of "$host")" || die "host $host is not a krew platform"

rm -rf "$out"
mkdir -p "$out/plugins"
stage="$(mktemp -d "${TMPDIR:-/tmp}/mm2-release.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# Reproducible archives: fixed order, owner and mtime (SOURCE_DATE_EPOCH, else the last commit).
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

# package PLUGIN PLATFORM BINARY
package() {
  local plugin="$1" platform="$2" binary="$3" exe="" dir name
  [ "${platform%%_*}" = windows ] && exe=.exe
  dir="$stage/$plugin-$platform"
  mkdir -p "$dir"
  install -m 0755 "$binary" "$dir/kubectl-$plugin$exe"
  if [ -z "$exe" ]; then
    install -m 0755 "completions/kubectl_complete-$plugin" "$dir/kubectl_complete-$plugin"
  fi
  if [ -f LICENSE ]; then install -m 0644 LICENSE "$dir/LICENSE"; else warn "no LICENSE file at the repository root: krew-index requires one"; fi
  [ -f README.md ] && install -m 0644 README.md "$dir/README.md"
  find "$dir" -exec touch -h -d "@$epoch" {} +
  if [ -n "$exe" ]; then
    name="kubectl-${plugin}_${platform}.zip"
    (cd "$dir" && python3 - "$out/$name" "$epoch" <<'PY'
import os, sys, time, zipfile
out, epoch = sys.argv[1], int(sys.argv[2])
stamp = time.gmtime(max(epoch, 315532800))[:6]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(os.listdir(".")):
        info = zipfile.ZipInfo(f, stamp)
        info.external_attr = (os.stat(f).st_mode & 0xFFFF) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, open(f, "rb").read())
PY
    )
  else
    name="kubectl-${plugin}_${platform}.tar.gz"
    # Entries without a leading ./ (bin: kubectl-mm2 names the file exactly).
    (cd "$dir" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - -- *) | gzip -n -9 >"$out/$name"
  fi
  log "packed $name"
}

built=()   # "platform" entries that were packaged
if [ -n "$bin_dir" ]; then
  for p in "${plugins[@]}"; do
    [ -x "$bin_dir/kubectl-$p" ] || die "$bin_dir/kubectl-$p not found (build it first)"
    package "$p" "$host_platform" "$bin_dir/kubectl-$p"
  done
  built+=("$host_platform")
else
  if [ -z "$targets" ]; then
    installed="$(rustup target list --installed 2>/dev/null || echo "$host")"
    for t in $known_targets; do
      if grep -qx "$t" <<<"$installed"; then targets="$targets $t"; fi
    done
  fi
  for t in $targets; do
    platform="$(platform_of "$t")" || die "unsupported target $t"
    if printf '%s\n' "${built[@]:-}" | grep -qx "$platform"; then
      log "skipping $t: $platform already built"
      continue
    fi
    log "building $t ($platform)"
    # The host target builds into target/release (shared with a plain `cargo build --release`).
    if [ "$t" = "$host" ]; then target_args=(); rel="release"; else target_args=(--target "$t"); rel="$t/release"; fi
    if ! cargo build --release --locked -p kubectl-mm2 -p kubectl-clusterset "${target_args[@]}" >&2; then
      [ "$t" = "$host" ] && die "the host build failed"
      warn "cannot build $t here (linker or SDK missing?); $platform is left out of the manifests"
      continue
    fi
    exe=""; [ "${platform%%_*}" = windows ] && exe=.exe
    for p in "${plugins[@]}"; do
      package "$p" "$platform" "${CARGO_TARGET_DIR:-$root/target}/$rel/kubectl-$p$exe"
    done
    built+=("$platform")
  done
fi
[ "${#built[@]}" -gt 0 ] || die "nothing was built"

(cd "$out" && sha256sum -- *.tar.gz $(ls -- *.zip 2>/dev/null) >SHA256SUMS)

# Fill plugins/<plugin>.yaml: substitute the placeholders, keep the platforms that were built.
for p in "${plugins[@]}"; do
  tmpl="$(cat "plugins/$p.yaml")"
  {
    echo "# Generated by scripts/release.sh $version from plugins/$p.yaml; submit to krew-index."
    in_block=0 block="" os="" arch=""
    emit_block() {
      if [ -n "$block" ]; then
        if printf '%s\n' "${built[@]}" | grep -qx "${os}_${arch}"; then
          local ext=tar.gz; [ "$os" = windows ] && ext=zip
          local archive="kubectl-${p}_${os}_${arch}.$ext"
          local sum; sum="$(sha256sum "$out/$archive" | cut -d' ' -f1)"
          block="${block//@URI_${os}_${arch}@/$base_url/$archive}"
          block="${block//@SHA256_${os}_${arch}@/$sum}"
          printf '%s' "$block"
        fi
      fi
      block="" os="" arch=""
    }
    started=0
    while IFS= read -r line || [ -n "$line" ]; do
      if [ "$started" = 0 ] && [[ "$line" == \#* ]]; then continue; fi
      started=1
      if [[ "$line" == "  - selector:"* ]]; then emit_block; in_block=1; fi
      if [ "$in_block" = 1 ] && [[ "$line" =~ ^[^[:space:]] ]]; then emit_block; in_block=0; fi
      if [ "$in_block" = 1 ]; then
        [[ "$line" =~ ^[[:space:]]+os:[[:space:]]*([a-z0-9]+) ]] && os="${BASH_REMATCH[1]}"
        [[ "$line" =~ ^[[:space:]]+arch:[[:space:]]*([a-z0-9]+) ]] && arch="${BASH_REMATCH[1]}"
        block+="$line"$'\n'
        continue
      fi
      printf '%s\n' "${line//@VERSION@/$version}"
    done <<<"$tmpl"
    emit_block
  } >"$out/plugins/$p.yaml"
  if grep -q '@[A-Z0-9_a-z]*@' "$out/plugins/$p.yaml"; then
    die "placeholders left in $out/plugins/$p.yaml"
  fi
  log "wrote $out/plugins/$p.yaml (platforms: ${built[*]})"
done

log "done: $out"
ls -l "$out" >&2
echo "$out"
