#!/usr/bin/env bash
# Cost of the asynchronous server-store lookup on a resumed handshake (issue 16 target: "adds no more than one Redis
# round trip", p50/p99). Runs the test that measures it side by side in one sitting: 2 `fastsession serve --no-tickets`
# processes with their internal caches (each client resumes where its session was issued) versus 2 sharing a
# `--session-store redis://...` (every resumption on the other process, its session fetched with GET / GETDEL), a library
# client over loopback TCP timing each resumed handshake, interleaved with Redis GET (of a value the size of a stored session, ~150 B) and PING round trips from
# another process. Prints one line per TLS version and appends it to $FASTSESSION_FLEET_REPORT.
#   bench/fleet-lookup.sh [ROUNDS]      # ROUNDS resumed handshakes per series (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-200}"
report="${FASTSESSION_FLEET_REPORT:-artifacts/fleet-lookup.txt}"
mkdir -p "$(dirname "$report")"
: > "$report"
dotnet build tests/FastSession.Redis.Tests -c Release -nologo -v:q >/dev/null
FASTSESSION_FLEET_SESSIONS=$(( (rounds + 3) / 4 )) FASTSESSION_FLEET_REPORT="$(realpath "$report")" \
  dotnet test tests/FastSession.Redis.Tests -c Release --no-build --filter "FullyQualifiedName~AsynchronousLookup" -nologo >/dev/null
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$report"
