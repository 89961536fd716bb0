#!/usr/bin/env bash
# Installs exactly the Debian packages brfed needs to build, test and run, then builds the Go
# test tools (tools/build.sh: brfed-kube-testenv, kubectl, helm, promtool into build/tools/bin).
# Idempotent: prints nothing and changes nothing when everything is present. Works as root or
# through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake make pkg-config git ccache clang-format tmux procps tzdata ca-certificates
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
)

install_debian_packages() {
  missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  if [ "$(id -u)" -eq 0 ]; then
    run=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo)
  else
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root or with passwordless sudo, or install them:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi

  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${run[@]}" apt-get update -qq
  "${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_debian_packages
tools/build.sh
