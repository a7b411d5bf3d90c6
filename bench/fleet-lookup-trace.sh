#!/usr/bin/env bash
# Where a resumed handshake's time goes with the server store (issue 16, fleet4). Copies HEAD into a temp dir, applies
# bench/fleet-lookup-trace.patch (Stopwatch marks in the serve process's pump and lookup, and in the test's client; never
# merged), runs the AsynchronousLookup test with tracing on and prints each segment's quartiles (bench/fleet-lookup-trace.py).
#   bench/fleet-lookup-trace.sh [ROUNDS]      # ROUNDS resumed handshakes per series (default 100)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-100}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$repo" archive HEAD | tar -x -C "$work"
(cd "$work" && git apply "$repo/bench/fleet-lookup-trace.patch")
(cd "$work" && dotnet build tests/FastSession.Redis.Tests -c Release -nologo -v:q >/dev/null)
mkdir -p "$work/trace"
(cd "$work" && FASTSESSION_TRACE_LOOKUP=1 FASTSESSION_TRACE_DIR="$work/trace" FASTSESSION_FLEET_SESSIONS=$(( (rounds + 3) / 4 )) \
  FASTSESSION_FLEET_REPORT="$work/report.txt" dotnet test tests/FastSession.Redis.Tests -c Release --no-build \
  --filter "FullyQualifiedName~AsynchronousLookup" -nologo >/dev/null)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/report.txt"
python3 "$repo/bench/fleet-lookup-trace.py" "$work/trace"
