#!/usr/bin/env bash
# Installs what `npm start` or `npm test` needs and is missing, so both work from a clean clone
# on Debian 12 with Node.js 20 and nothing else. npm runs it as the prestart/pretest hook; it
# is quiet when nothing is missing.
#
#   bash scripts/setup.sh start   MariaDB (unless KAFKA_MYSQL_URL names your own MySQL), npm packages
#   bash scripts/setup.sh test    MariaDB, kcat, kafka-python, confluent-kafka-python, ZooKeeper, openssl, chromium, iproute2, npm packages
#
# Debian packages are installed with apt-get when run as root; otherwise the exact command is
# printed and the script exits 1. SETUP_DRY_RUN=1 prints the commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
if [ "$mode" != start ] && [ "$mode" != test ]; then
  echo "usage: bash scripts/setup.sh start|test" >&2
  exit 2
fi
dry_run="${SETUP_DRY_RUN:-}"

run() {
  if [ -n "$dry_run" ]; then echo "would run: $*"; else "$@"; fi
}

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  echo "kafka-mysql needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

have_mariadbd() {
  command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 ||
    [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ]
}

# The same checks as .ci/run, which installs these before calling `npm test`.
missing=()
if [ "$mode" = test ] || [ -z "${KAFKA_MYSQL_URL:-}" ]; then
  have_mariadbd || missing+=(mariadb-server)
fi
if [ "$mode" = test ]; then
  command -v kcat >/dev/null 2>&1 || missing+=(kcat)
  /usr/bin/python3 -c 'import kafka' >/dev/null 2>&1 || missing+=(python3-kafka)
  /usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || missing+=(python3-confluent-kafka)
  [ -x /usr/share/zookeeper/bin/zkServer.sh ] || missing+=(zookeeper)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # TLS tests make their certificates
  [ -x /usr/bin/chromium ] || missing+=(chromium)  # the console's browser test
  [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || [ -x /usr/bin/ip ] || [ -x /bin/ip ] || missing+=(iproute2)  # the network-partition failover trial
fi

if [ ${#missing[@]} -gt 0 ]; then
  install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -qq
    run "${install[@]}"
  else
    {
      echo "missing Debian packages: ${missing[*]}"
      echo "install them as root, then run this again:"
      echo "  sudo apt-get update && sudo ${install[*]}"
      if [ "$mode" = start ]; then
        echo "(or point the broker at your own MySQL: KAFKA_MYSQL_URL=mysql://user:pass@host:3306/db npm start)"
      fi
    } >&2
    exit 1
  fi
fi

# npm packages: installed when node_modules is missing or older than the lock file (npm writes
# node_modules/.package-lock.json when it installs; a pull that changes dependencies changes
# package-lock.json).
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
  echo "installing npm packages"
  run npm install --no-audit --no-fund
  # npm leaves the marker untouched when nothing changed; touch it so the next run is quiet.
  run touch "$marker"
fi
