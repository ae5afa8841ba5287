#!/usr/bin/env bash
# Installs, from Debian's packages, the real programs the test suite talks to.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have openssl || need+=(openssl)
have keytool || need+=(default-jre-headless)
have nginx || need+=(nginx-light)
have named || need+=(bind9)
have nsupdate || need+=(bind9-dnsutils)
have curl || need+=(curl)
have psql || need+=(postgresql)
have pdftotext || need+=(poppler-utils)
have unzip || need+=(unzip)
have certbot || need+=(certbot)
[ -d /usr/lib/python3/dist-packages/certbot_dns_rfc2136 ] || need+=(python3-certbot-dns-rfc2136)
have lego || need+=(lego)
# Pebble is the ACME peer the benchmark (and its smoke test) measures certdesk against.
have pebble || need+=(pebble)
have chromium || need+=(chromium)
# A CJK font, so the console's Chinese renders in the browser tests and screenshots.
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing test tools: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# PostgreSQL: the integration suite runs on it too. Start the local cluster if
# it is down; on a machine whose server does not trust local TCP connections,
# give the postgres role a password and tell the tests the URL to use.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  fi
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
mkdir -p .certdesk-test
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'certdesk-test'\"" >/dev/null
  echo 'postgres://postgres:certdesk-test@127.0.0.1:5432/postgres' > .certdesk-test/pg-url
fi
