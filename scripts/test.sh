#!/usr/bin/env bash
# Runs every check MynaFleet has, the way CI does (`make test`, `.ci/run`).
#
# 1. installs what is missing (Debian packages as root; the Python venv for tests/python)
# 2. starts a throwaway PostgreSQL 15 and pcscd, stopped again on exit whatever failed
# 3. fmt, dependency policy, clippy, build, nextest (both backends), the Python client test
#
# Environment: CI=true selects nextest's `ci` profile and makes a missing PostgreSQL an
# error (it is one anyway: the cluster is always started). TEST_LOG=1 shows test logs.
# Extra arguments are passed to `cargo nextest run` (e.g. a filter: `scripts/test.sh e2e`).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

export MF_REPO_ROOT=$REPO_ROOT
# shellcheck source=scripts/lib/deps.sh
source "$REPO_ROOT/scripts/lib/deps.sh"
# shellcheck source=scripts/lib/services.sh
source "$REPO_ROOT/scripts/lib/services.sh"

CI=${CI:-false}
# A fresh clone gains nothing from incremental compilation, and its cache is the largest
# part of target/ (several GB): CI's disk is not large (TOOLCHAIN.md pitfalls).
if [ "$CI" = "true" ]; then
    export CARGO_INCREMENTAL=0
fi
VENV=$REPO_ROOT/target/py-venv
RUN_START=$SECONDS

step() {
    printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"
}

die() {
    printf '\nerror: %s\n' "$*" >&2
    exit 1
}

on_exit() {
    local rc=$?
    set +e
    step "stopping test services"
    mf_services_stop_all
    if [ "$rc" -eq 0 ]; then
        printf '\nmake test: all steps passed in %ss\n' "$((SECONDS - RUN_START))"
    else
        printf '\nmake test: FAILED (exit %s) after %ss; service logs in %s\n' \
            "$rc" "$((SECONDS - RUN_START))" "$MF_LOG_DIR" >&2
    fi
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------
step "disk: $(df -h --output=avail "$REPO_ROOT" | tail -1 | tr -d ' ') free where target/ goes"
step "installing missing prerequisites"
debs=(libpcsclite-dev pkg-config pcscd vsmartcard-vpcd postgresql)
if ! command -v python3 >/dev/null 2>&1; then
    debs+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    debs+=(python3-venv) # Debian's python3 ships venv support separately
fi
mf_ensure_debs "${debs[@]}"
mf_ensure_py_venv "$VENV" "$REPO_ROOT/tests/python/requirements.txt"

# ---------------------------------------------------------------------------------------
step "starting throwaway PostgreSQL"
# Always started, so the store conformance suite and e2e flows run on both backends;
# under CI=true a PostgreSQL that cannot start fails the run (never a skip).
mf_pg_start || die "PostgreSQL is required (CI=$CI); see the messages above"
[ -n "${MYNAFLEET_TEST_POSTGRES_URL:-}" ] || die "MYNAFLEET_TEST_POSTGRES_URL is not set"

step "starting pcscd"
mf_pcscd_start || die "pcscd is required for the PC/SC tests; see the messages above"

# ---------------------------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

# ---------------------------------------------------------------------------------------
step "dependency policy: ring only, one tonic/prost/rustls/sqlx/opentelemetry"
# cargo-deny (deny.toml) says the same when installed; these checks need only cargo.
for banned in aws-lc-rs aws-lc-sys openssl-sys; do
    if out=$(cargo tree --workspace --target all -i "$banned" 2>&1); then
        printf '%s\n' "$out" >&2
        die "$banned is in the dependency tree (ring is the only crypto provider; TOOLCHAIN.md §2)"
    fi
    case $out in
    *"did not match any packages"*) echo "ok: $banned is not in the tree" ;;
    *)
        printf '%s\n' "$out" >&2
        die "cargo tree -i $banned failed for another reason than 'did not match any packages'"
        ;;
    esac
done
dups=$(cargo tree --workspace -d --depth 0 -e normal,build,dev)
dup_found=""
for crate in tonic prost rustls sqlx opentelemetry; do
    versions=$(printf '%s\n' "$dups" | awk -v c="$crate" '$1 == c { print $2 }' | sort -u | paste -sd' ' -)
    # -d can list one version twice (same crate built with different features), so
    # count distinct versions.
    if [ "$(printf '%s' "$versions" | wc -w)" -gt 1 ]; then
        echo "duplicate versions of $crate: $versions" >&2
        dup_found=1
    else
        echo "ok: one version of $crate"
    fi
done
if [ -n "$dup_found" ]; then
    printf '%s\n' "$dups" >&2
    die "a second version of a pinned crate set is in the tree; see 'cargo tree -d' above (TOOLCHAIN.md §1–2)"
fi

if cargo deny --version >/dev/null 2>&1; then
    step "cargo deny check bans licenses sources"
    cargo deny check bans licenses sources
else
    echo "cargo-deny is not installed: deny.toml's licence and source checks skipped" \
        "(bans are covered above; cargo install cargo-deny --locked to run them)"
fi

# ---------------------------------------------------------------------------------------
step "buf lint proto/ (STANDARD rules)"
BUF="$REPO_ROOT/target/buf/node_modules/.bin/buf"
if [ ! -x "$BUF" ]; then
    mkdir -p "$REPO_ROOT/target/buf"
    npm install --silent --no-audit --no-fund --prefix "$REPO_ROOT/target/buf" "@bufbuild/buf@1" >/dev/null \
        || die "could not install @bufbuild/buf from npm (needed for buf lint)"
fi
(cd "$REPO_ROOT/proto" && "$BUF" lint)

# ---------------------------------------------------------------------------------------
step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# ---------------------------------------------------------------------------------------
step "cargo build --workspace --bins"
# Tests that run a binary (mynafleet, mynafleet-agent, the simulators) find it in
# target/debug/ beside their own executable, so every binary is built first.
cargo build --workspace --bins
step "deploy/: render and validate manifests, compose file, Dockerfiles, agent unit"
bash "$REPO_ROOT/scripts/check-deploy.sh"

# ---------------------------------------------------------------------------------------
profile=default
[ "$CI" = "true" ] && profile=ci
step "cargo nextest run --workspace (profile $profile, PostgreSQL at $MYNAFLEET_TEST_POSTGRES_URL)"
cargo nextest run --workspace --no-fail-fast --profile "$profile" "$@"

# ---------------------------------------------------------------------------------------
step "third-party client: pytest tests/python (grpcio against mynafleet dev)"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
export MYNAFLEET_BIN=$target_dir/debug/mynafleet
"$VENV/bin/python" -m pytest -v tests/python
