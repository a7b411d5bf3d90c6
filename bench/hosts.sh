#!/usr/bin/env bash
# Hosts (issue 15), side by side in one run: HttpClient via FastSessionHttpHandler vs plain HttpClient (new connection per
# request, against openssl s_server -www), Kestrel UseFastSession vs UseHttps under openssl s_time (-new / -reuse), YARP with
# FastSession vs YARP's own client (backend openssl s_server -www, which closes after each page: every request is a new backend
# connection). TLS 1.2 and 1.3. Usage: bench/hosts.sh [seconds-per-s_time-run] [requests-per-client-run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-4}
REQUESTS=${2:-300}
dotnet build samples/HttpClientSample -c Release -nologo -v:q >/dev/null
dotnet build samples/KestrelSample -c Release -nologo -v:q >/dev/null
dotnet build samples/YarpSample -c Release -nologo -v:q >/dev/null
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
CLIENT="dotnet samples/HttpClientSample/bin/Release/net10.0/HttpClientSample.dll"
KESTREL="dotnet samples/KestrelSample/bin/Release/net10.0/KestrelSample.dll"
YARP="dotnet samples/YarpSample/bin/Release/net10.0/YarpSample.dll"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## HttpClient, new connection per request, $REQUESTS requests, vs openssl s_server -www"
for v in 1.2 1.3; do
  port=$(free_port)
  openssl s_server -www -accept "127.0.0.1:$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -tls${v/./_} -quiet >/dev/null 2>&1 &
  PIDS+=($!); wait_port "$port"
  echo "TLS $v FastSessionHttpHandler: $($CLIENT https://localhost:$port/ "$REQUESTS" --trust "$WORK/cert.pem" --new-connections | tail -1)"
  echo "TLS $v plain HttpClient:      $($CLIENT https://localhost:$port/ "$REQUESTS" --trust "$WORK/cert.pem" --new-connections --plain | tail -1)"

  echo "## YARP -> the same s_server (TLS $v), $REQUESTS requests through the proxy; cluster version 2.0 (YARP's default) and 1.1"
  for mode in fastsession default "fastsession --http 1.1" "default --http 1.1"; do
    pport=$(free_port)
    extra=(); [[ "$mode" = default* ]] && extra=(--default-client)
    [[ "$mode" = *1.1 ]] && extra+=(--http 1.1)
    $YARP --port "$pport" --backend "https://localhost:$port/" --trust "$WORK/cert.pem" "${extra[@]}" >/dev/null 2>&1 &
    PIDS+=($!); wait_port "$pport"
    out=$($CLIENT "http://127.0.0.1:$pport/" "$REQUESTS" --plain | tail -1)
    stats=$(curl -s "http://127.0.0.1:$pport/fastsession")
    echo "TLS $v YARP $mode: $out backend: $stats"
    kill "${PIDS[-1]}"; unset 'PIDS[-1]'
  done
  kill "${PIDS[-1]}"; unset 'PIDS[-1]'
done

echo "## Kestrel (Http1AndHttp2, same app) under openssl s_time -www / for ${SECONDS_PER_RUN}s: connections in the run"
fport=$(free_port); hport=$(free_port)
$KESTREL --port "$fport" --cert "$WORK/cert.pem" --key "$WORK/key.pem" >/dev/null 2>&1 & PIDS+=($!)
$KESTREL --port "$hport" --cert "$WORK/cert.pem" --key "$WORK/key.pem" --https >/dev/null 2>&1 & PIDS+=($!)
wait_port "$fport"; wait_port "$hport"
for v in tls1_2 tls1_3; do
  for m in new reuse; do
    for round in 1 2 3; do
      f=$(openssl s_time -connect "127.0.0.1:$fport" -www / -$m -time "$SECONDS_PER_RUN" -$v 2>&1)
      h=$(openssl s_time -connect "127.0.0.1:$hport" -www / -$m -time "$SECONDS_PER_RUN" -$v 2>&1)
      fc=$(grep -m1 -oE '^[0-9]+ connections in [0-9.]+s' <<<"$f" | head -1)
      hc=$(grep -m1 -oE '^[0-9]+ connections in [0-9.]+s' <<<"$h" | head -1)
      fr=$(grep -m1 -oE '^[0-9]+ connections in [0-9]+ real' <<<"$f" | head -1)
      hr=$(grep -m1 -oE '^[0-9]+ connections in [0-9]+ real' <<<"$h" | head -1)
      echo "$v -$m round $round: UseFastSession $fr | UseHttps $hr"
    done
  done
done
