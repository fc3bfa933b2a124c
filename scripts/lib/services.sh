# shellcheck shell=bash
# Start and stop the throwaway services a test run needs: a PostgreSQL 15 cluster
# (TOOLCHAIN.md §9) and pcscd (TOOLCHAIN.md §8).
#
# Sourced by scripts/test.sh; it never runs anything by itself and never touches a
# cluster or daemon it did not start. Every stop function is idempotent, so one EXIT trap
# can call mf_services_stop_all whatever step failed.
#
#   source scripts/lib/services.sh
#   trap mf_services_stop_all EXIT
#   mf_pg_start        # exports MYNAFLEET_TEST_POSTGRES_URL
#   mf_pcscd_start
#
# Logs land in $MF_LOG_DIR (default: target/test-logs under the repository root).

MF_REPO_ROOT=${MF_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MF_LOG_DIR=${MF_LOG_DIR:-$MF_REPO_ROOT/target/test-logs}

# State of what this shell started; empty means "nothing to stop".
MF_PGDATA=""
MF_PG_STARTED=""
MF_PCSCD_PID=""
MF_PCSCD_SOCKET=/run/pcscd/pcscd.comm

mf_log() { printf '%s\n' "$*" >&2; }

# Runs a command as the postgres user when root (initdb and pg_ctl refuse root), else as
# the current user. Runs from / so postgres never warns about root's private cwd.
mf_as_pg_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Prints the directory holding initdb and pg_ctl: PostgreSQL 15 when installed, else the
# one on PATH, else the newest packaged major version.
mf_pg_bindir() {
    local dir
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
        return 0
    fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [ -x "$dir/initdb" ] && printf '%s\n' "$dir"
}

# Prints a free TCP port on 127.0.0.1 (the kernel picks it; bound and released at once).
mf_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a throwaway cluster on a free loopback port and exports
# MYNAFLEET_TEST_POSTGRES_URL. fsync and synchronous_commit are off: test cluster only.
mf_pg_start() {
    local bindir port
    if ! bindir=$(mf_pg_bindir); then
        mf_log "error: PostgreSQL not found (no initdb under /usr/lib/postgresql/*/bin or on PATH);"
        mf_log "       install it with: apt-get install postgresql"
        return 1
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        mf_log "error: running as root but there is no 'postgres' user to run initdb as"
        return 1
    fi
    mkdir -p "$MF_LOG_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        # /tmp, not $TMPDIR: the postgres user must be able to reach the directory.
        MF_PGDATA=$(mktemp -d /tmp/mynafleet-pgdata.XXXXXX)
        chown postgres:postgres "$MF_PGDATA"
    else
        MF_PGDATA=$(mktemp -d "${TMPDIR:-/tmp}/mynafleet-pgdata.XXXXXX")
    fi
    chmod 700 "$MF_PGDATA"
    port=$(mf_free_port)
    if ! mf_as_pg_owner "$bindir/initdb" -D "$MF_PGDATA" -U postgres --auth=trust -E UTF8 \
        --no-sync >"$MF_LOG_DIR/initdb.log" 2>&1; then
        mf_log "error: initdb failed; its output:"
        cat "$MF_LOG_DIR/initdb.log" >&2
        return 1
    fi
    # -w -t 30: pg_ctl itself waits (bounded) until the server accepts connections.
    if ! mf_as_pg_owner "$bindir/pg_ctl" -D "$MF_PGDATA" -l "$MF_PGDATA/log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $MF_PGDATA -c fsync=off -c synchronous_commit=off" \
        >"$MF_LOG_DIR/pg_ctl.log" 2>&1; then
        mf_log "error: PostgreSQL did not start; pg_ctl and server logs:"
        cat "$MF_LOG_DIR/pg_ctl.log" "$MF_PGDATA/log" >&2 2>/dev/null || true
        return 1
    fi
    MF_PG_STARTED=$bindir
    export MYNAFLEET_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    mf_log "postgres: $("$bindir/pg_ctl" --version) on 127.0.0.1:$port, PGDATA=$MF_PGDATA"
}

# Stops the cluster mf_pg_start made and removes its data directory (its log is kept in
# $MF_LOG_DIR/postgres.log).
mf_pg_stop() {
    if [ -n "$MF_PG_STARTED" ]; then
        mf_as_pg_owner "$MF_PG_STARTED/pg_ctl" -D "$MF_PGDATA" -m fast -w -t 30 stop \
            >>"$MF_LOG_DIR/pg_ctl.log" 2>&1 || mf_log "warning: pg_ctl stop failed (see $MF_LOG_DIR/pg_ctl.log)"
        MF_PG_STARTED=""
    fi
    if [ -n "$MF_PGDATA" ]; then
        [ -f "$MF_PGDATA/log" ] && cp "$MF_PGDATA/log" "$MF_LOG_DIR/postgres.log" 2>/dev/null
        rm -rf "$MF_PGDATA"
        MF_PGDATA=""
    fi
    unset MYNAFLEET_TEST_POSTGRES_URL
}

# Starts pcscd in the foreground as a child of this shell and waits (bounded) for its
# socket. A pcscd that is already running (say, a desktop's own) is used as it is and
# left alone.
mf_pcscd_start() {
    local pcscd
    if ! pcscd=$(command -v pcscd || ls /usr/sbin/pcscd 2>/dev/null); then
        mf_log "error: pcscd not found; install it with: apt-get install pcscd vsmartcard-vpcd"
        return 1
    fi
    if [ -S "$MF_PCSCD_SOCKET" ] && pidof pcscd >/dev/null 2>&1; then
        mf_log "pcscd: already running (pid $(pidof pcscd)); using it and leaving it running"
        return 0
    fi
    if [ -S "$MF_PCSCD_SOCKET" ] && [ "$(id -u)" -ne 0 ]; then
        # Not root: a socket-activated system pcscd (systemd's pcscd.socket) starts on use.
        mf_log "pcscd: using the system socket $MF_PCSCD_SOCKET"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        mf_log "error: pcscd is not running and starting it needs root (it owns /run/pcscd)"
        return 1
    fi
    mkdir -p "$MF_LOG_DIR"
    rm -rf /run/pcscd # stale socket or pid file from an unclean stop
    "$pcscd" --foreground >"$MF_LOG_DIR/pcscd.log" 2>&1 &
    MF_PCSCD_PID=$!
    local _
    for _ in $(seq 50); do
        [ -S "$MF_PCSCD_SOCKET" ] && break
        kill -0 "$MF_PCSCD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -S "$MF_PCSCD_SOCKET" ]; then
        mf_log "error: pcscd did not create $MF_PCSCD_SOCKET within 5 s; its log:"
        cat "$MF_LOG_DIR/pcscd.log" >&2
        return 1
    fi
    mf_log "pcscd: pid $MF_PCSCD_PID, socket $MF_PCSCD_SOCKET"
}

# Stops the pcscd mf_pcscd_start started (SIGTERM, then SIGKILL after 10 s).
mf_pcscd_stop() {
    [ -n "$MF_PCSCD_PID" ] || return 0
    local pid=$MF_PCSCD_PID _
    MF_PCSCD_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do # pcscd exits about 2 s after SIGTERM
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        mf_log "warning: pcscd (pid $pid) ignored SIGTERM for 10 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        rm -rf /run/pcscd
    fi
    wait "$pid" 2>/dev/null || true
}

# Stops everything this shell started; safe to call twice and from an EXIT trap.
mf_services_stop_all() {
    mf_pcscd_stop || true
    mf_pg_stop || true
}
