#!/usr/bin/env bash
# README's first command: installs what is missing, builds (Release) and runs `brfed demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release --target brfed brfed-apiserver tidb-operator-sim br-federation-manager
exec build/release/src/cli/brfed demo "$@"
