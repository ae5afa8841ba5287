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
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing test tools: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
