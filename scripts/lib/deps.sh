# shellcheck shell=bash
# Installs what building and testing MynaFleet needs, only when it is missing: Debian
# packages (as root, through apt-get) and the Python virtualenv for tests/python.
#
# Sourced by scripts/dev.sh and scripts/test.sh. Never upgrades or removes anything, and
# never runs apt-get when every package is already installed.

# Prints, one per line, the Debian packages among "$@" that are not installed.
mf_missing_debs() {
    local pkg
    for pkg in "$@"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]; then
            printf '%s\n' "$pkg"
        fi
    done
}

# Makes sure every Debian package in "$@" is installed: installs the missing ones when
# running as root on Debian, otherwise says what to install and fails.
mf_ensure_debs() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "warning: not a Debian system (no dpkg-query); make sure these are installed: $*" >&2
        return 0
    fi
    local missing
    missing=$(mf_missing_debs "$@")
    if [ -z "$missing" ]; then
        echo "debian packages present: $*" >&2
        return 0
    fi
    # shellcheck disable=SC2086 # one package name per word
    set -- $missing
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: missing Debian packages: $*" >&2
        echo "       install them as root: apt-get install $*" >&2
        return 1
    fi
    echo "installing missing Debian packages: $*" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
    missing=$(mf_missing_debs "$@")
    if [ -n "$missing" ]; then
        echo "error: still missing after apt-get install: $missing" >&2
        return 1
    fi
}

# Creates or refreshes the virtualenv at $1 from the requirements file $2. Skips pip
# entirely when the venv was built from the same requirements and still imports them.
mf_ensure_py_venv() {
    local venv=$1 requirements=$2 stamp want
    stamp="$venv/.mynafleet-requirements"
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
        "$venv/bin/python" -c 'import grpc, grpc_health.v1, grpc_reflection.v1alpha, pytest' 2>/dev/null; then
        echo "python venv present: $venv" >&2
        return 0
    fi
    echo "creating python venv $venv from $requirements" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements"
    printf '%s\n' "$want" >"$stamp"
}
