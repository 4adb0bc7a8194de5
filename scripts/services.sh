#!/usr/bin/env bash
# What the tests and benchmarks need that pip cannot install: Debian's Chromium, PostgreSQL on
# 127.0.0.1:5432 with trust auth on loopback and Redis on 127.0.0.1:6379. Sourced (it only
# defines functions) by scripts/test, .ci/run and bench/run_all. Installing and starting
# need root; as another user they go through sudo when there is one.

CHROMIUM=/usr/bin/chromium

say() { printf '\n== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "needs root (and there is no sudo): $*" >&2
    return 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "cannot install $*: this is not a Debian or Ubuntu machine (no apt-get); install it yourself" >&2
    return 1
  fi
  say "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" || return 1
}

# --- Chromium (the browser tests drive Debian's, never a downloaded one) ----------
ensure_chromium() {
  if [ ! -x "$CHROMIUM" ]; then
    apt_install chromium || { echo "Chromium is missing at $CHROMIUM: apt-get install chromium" >&2; return 1; }
  fi
  "$CHROMIUM" --version
}

# --- PostgreSQL -------------------------------------------------------------------
postgres_installed() { command -v pg_ctlcluster >/dev/null 2>&1; }

start_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || return 1
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    # A fresh Debian install asks for passwords on TCP; our machines use trust auth on loopback.
    say "enabling trust auth for loopback"
    local hba
    hba=$(as_root su postgres -c "psql -Atqc 'show hba_file'") || return 1
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba" || return 1
    as_root su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null || return 1
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select version()'
}

# --- Redis ------------------------------------------------------------------------
redis_installed() { command -v redis-server >/dev/null 2>&1; }

start_redis() {
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || return 1
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  redis-cli -h 127.0.0.1 -p 6379 info server | grep redis_version
}

# --- both -------------------------------------------------------------------------
# services_up --install: install what is missing, then start both (CI, benchmarks).
# services_up: start what is installed but stopped; say what is missing (its tests skip).
services_up() {
  local install=${1:-}
  if ! postgres_installed && [ "$install" = --install ]; then apt_install postgresql || return 1; fi
  if postgres_installed; then
    start_postgres || return 1
  else
    say "PostgreSQL is not installed: the [postgres] tests will be skipped (apt-get install postgresql)"
  fi
  if ! redis_installed && [ "$install" = --install ]; then apt_install redis-server || return 1; fi
  if redis_installed; then
    start_redis || return 1
  else
    say "Redis is not installed: the tests that need it will be skipped (apt-get install redis-server)"
  fi
}
