#!/usr/bin/env bash
# fastsession serve under 1 and under 64 concurrent clients, same sitting: openssl s_time processes (throughput) and
# bench/concurrency.py (threads; handshake waits). Usage: bench/concurrency.sh [seconds] [tls]   (default 5, 1.3)
# Needs: a Release build (dotnet build FastSession.sln -c Release), openssl, python3.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-5}
tls=${2:-1.3}
tool="$repo/src/FastSession.Cli/bin/Release/net10.0/FastSession.Cli"
out=$(mktemp -d)
trap 'kill $serve 2>/dev/null || true; rm -rf "$out"' EXIT
"$tool" serve --accept 127.0.0.1:0 --http --quiet --tls "$tls" >"$out/serve.txt" 2>"$out/serve.err" &
serve=$!
for _ in $(seq 100); do grep -q "listening on" "$out/serve.txt" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o "127.0.0.1:[0-9]*" "$out/serve.txt" | head -1 | cut -d: -f2)
flag=$([ "$tls" = 1.2 ] && echo -tls1_2 || echo -tls1_3)
stime() { openssl s_time -connect "127.0.0.1:$port" -www / "$1" "$flag" -time "$seconds" 2>/dev/null | grep "real seconds" | tail -1 | cut -d' ' -f1; }
for mode in -new -reuse; do
    one=$(stime "$mode")
    for i in $(seq 64); do stime "$mode" >"$out/c$i" & done
    wait $(jobs -p | grep -v "^$serve$") 2>/dev/null || true
    many=$(cat "$out"/c* | paste -sd+ | bc)
    rm -f "$out"/c*
    echo "{\"driver\":\"s_time\",\"tls\":\"$tls\",\"mode\":\"$mode\",\"seconds\":$seconds,\"one_client\":$one,\"sixty_four_clients\":$many,\"ratio\":$(echo "scale=2; $many / $one" | bc)}"
done
for resume in "" --resume; do
    python3 "$repo/bench/concurrency.py" "$port" --clients 1 --seconds "$seconds" --tls "$tls" $resume
    python3 "$repo/bench/concurrency.py" "$port" --clients 64 --seconds "$seconds" --tls "$tls" $resume
done
echo "serve stderr lines: $(wc -l <"$out/serve.err")"
