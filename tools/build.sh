#!/usr/bin/env bash
# Builds the Go test tools (docs/kube-testenv.md) into build/tools/bin: brfed-kube-testenv,
# kubectl, helm, promtool. Each is pinned by the go.mod + go.sum of its module under tools/.
# Rebuilds only when something under tools/ (or the Go version) changed: a hash of both is
# stamped in build/tools/stamp. Prints nothing when up to date. Go's own caches (GOCACHE,
# GOMODCACHE) are reused, so a rebuild after a small change takes seconds.
# Usage: tools/build.sh [OUT_DIR]   (default: build/tools)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/tools}
bin=$out/bin
binaries=(brfed-kube-testenv kubectl helm promtool)

if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: 'go' is not on PATH: the test tools under tools/ need Go $(sed -n 's/^go //p' "$root/tools/kube-testenv/go.mod") or newer" >&2
  exit 1
fi

hash=$( (cd "$root" && find tools -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum && go version) |
  sha256sum | cut -d' ' -f1)
up_to_date() {
  [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$hash" ] || return 1
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done
}
up_to_date && exit 0

# go.sum is the pin: never let a build edit it; the machine's own Go builds (no toolchain
# download); no VCS stamping (a worktree or a CI clone would change the binaries' hash).
export GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
mkdir -p "$bin"
rm -f "$out/stamp"
echo "install-deps: building Go test tools into $bin (a cold build takes several minutes)" >&2
build() {  # module-dir package binary [ldflags]
  local start=$SECONDS
  (cd "$root/tools/$1" && nice -n 10 go build -trimpath -ldflags "${4:-}" -o "$bin/$3.tmp" "$2")
  mv "$bin/$3.tmp" "$bin/$3"
  echo "install-deps: built $3 in $((SECONDS - start))s" >&2
}
# Stamp the Kubernetes version as upstream's release build does (else "v0.0.0-master"), so
# /version and `kubectl version` tell the pinned release.
kube=$(cd "$root/tools/kube-testenv" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=${kube#v1.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
kube_ldflags="-X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
build kube-testenv ./cmd/brfed-kube-testenv brfed-kube-testenv "$kube_ldflags"
build kube-testenv k8s.io/kubernetes/cmd/kubectl kubectl "$kube_ldflags"
build helm helm.sh/helm/v3/cmd/helm helm
build promtool github.com/prometheus/prometheus/cmd/promtool promtool
echo "$hash" >"$out/stamp"
