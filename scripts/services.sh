#!/usr/bin/env bash
# Start (or install) PostgreSQL on 127.0.0.1:5432 with trust auth and Redis on 127.0.0.1:6379
# if they are not running. Sourced by .ci/run and bench/run_all; needs root to install.

say() { printf '\n== %s\n' "$*"; }

apt_install() {
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# --- PostgreSQL -------------------------------------------------------------
command -v pg_ctlcluster >/dev/null 2>&1 || apt_install postgresql
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian install asks for passwords on TCP; our machines use trust auth on loopback.
  say "enabling trust auth for loopback"
  hba=$(su postgres -c "psql -Atqc 'show hba_file'")
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
fi
psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select version()'

# --- Redis --------------------------------------------------------------------
command -v redis-server >/dev/null 2>&1 || apt_install redis-server
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 info server | grep redis_version

