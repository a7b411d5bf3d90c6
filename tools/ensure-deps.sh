#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK when it is missing, so that ./test.sh alone sets up a fresh machine
# (and .ci/run, which calls it): cmake, OpenSSL's CLI and headers, flock, redis-server (the fleet tests start their own on
# loopback) from the distribution's packages, and the real dotnet-counters (the observability test watches `serve`
# through it) as a local dotnet tool under artifacts/tools. Idempotent; prints one line per install.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v openssl >/dev/null || need+=(openssl)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v flock >/dev/null || need+=(util-linux)
command -v redis-server >/dev/null || need+=(redis-server)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "tools/ensure-deps.sh: missing ${need[*]}; install them (as root: apt-get install ${need[*]}) and run again" >&2
    exit 2
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x artifacts/tools/dotnet-counters ]; then
  echo "== installing dotnet-counters into artifacts/tools"
  dotnet tool install --tool-path artifacts/tools dotnet-counters >/dev/null
fi
