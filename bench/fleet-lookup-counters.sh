#!/bin/bash
# The server's own view of the store lookup: one `serve --no-tickets --session-store` on a private redis-server, the
# real dotnet-counters collecting the FastSession meter (fastsession.server_store.lookup.duration percentiles) while
# `fastsession connect --reconnect 150` resumes TLS 1.2 then TLS 1.3 sessions through Redis. Writes c.json in a temp dir.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
cd "$work"
RP=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
SP=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port $RP --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning > redis.log 2>&1 &
RPID=$!
SPID=""
trap 'kill $SPID $RPID 2>/dev/null || true' EXIT
sleep 1
CLI="$repo/src/FastSession.Cli/bin/Release/net10.0/FastSession.Cli.dll"
dotnet $CLI serve --accept 127.0.0.1:$SP --no-tickets --quiet --session-store redis://127.0.0.1:$RP/x --session-store-timeout 1000 > serve.log 2>&1 &
SPID=$!
sleep 3
"$repo/artifacts/tools/dotnet-counters" collect -p $SPID --counters FastSession --format json -o c.json --refresh-interval 2 --duration 00:00:00:30 > dc.log 2>&1 &
DPID=$!
sleep 3
for v in 1.2 1.3; do timeout 60 dotnet $CLI connect 127.0.0.1:$SP --insecure --tls $v --reconnect 150 | tail -1; done
wait $DPID
python3 - "$work/c.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
for m in re.finditer(r'\{[^{}]*"name": "fastsession\.server_store\.lookup\.duration[^{}]*\}', text):
    d = json.loads(m.group(0))
    if d.get("value"):
        print(d["timestamp"], d["tags"], f'{d["value"] * 1000:.3f} ms')
PY
