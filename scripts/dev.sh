#!/usr/bin/env bash
# Runs the whole suite in one process in dev mode (`make dev`): SQLite files and generated
# certificates under ./.mynafleet-dev, oqs-sim as the upstream. Arguments go to
# `mynafleet dev` (e.g. `make dev DEV_ARGS='--data-dir /tmp/mf'`).
#
# Installs the Debian packages a build needs first when they are missing (as root on
# Debian); otherwise it says what to install and stops.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

# shellcheck source=scripts/lib/deps.sh
source "$REPO_ROOT/scripts/lib/deps.sh"

mf_ensure_debs libpcsclite-dev pkg-config
exec cargo run -p mynafleet -- dev "$@"
