#!/usr/bin/env bash
# README's first command: installs what is missing, builds (Release) and runs `brfed demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/src/cli/brfed demo "$@"
