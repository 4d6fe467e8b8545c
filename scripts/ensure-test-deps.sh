#!/usr/bin/env bash
# Before `npm test`: the end-to-end tests need Debian's Chromium, the Mosquitto tests need Mosquitto and the cluster
# tests Redis (each test starts its own redis-server on a private port), the cloud's PostgreSQL tests PostgreSQL
# (each test file starts its own server on a Unix socket in a temporary folder).
# Installs them with apt-get when missing and allowed (root); otherwise says what to install.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
command -v spin >/dev/null 2>&1 || need+=(spin)   # tests/model: the SPIN model checker (builds its verifier with gcc)
[ -x /usr/bin/redis-server ] || need+=(redis-server)   # the broker cluster tests (broker/cluster.ts)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)   # the cloud on PostgreSQL (tests/support/postgres.ts)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the tests: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package starts a system Mosquitto on 1883; the tests start their own brokers.
  (service mosquitto stop || pkill -x mosquitto || true) >/dev/null 2>&1
  # Likewise the system Redis on 6379, if the package started one.
  (service redis-server stop || true) >/dev/null 2>&1
  # And the system PostgreSQL cluster; the tests run their own server in a temporary folder.
  (service postgresql stop || true) >/dev/null 2>&1
else
  echo "The tests need these Debian packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
