#!/usr/bin/env bash
# Starts a FastSession fleet on loopback: N `fastsession serve` processes on N consecutive ports, one
# certificate, sharing their session-ticket keys (issue 16). By default it also starts a private
# redis-server (no persistence) as the key source; --store uses an existing Redis, --keys a key file.
#
#   tools/fleet.sh [-n 3] [--port 4433] [--store redis://HOST:PORT[/prefix] | --keys FILE] [--per-process]
#                  [--server-cache] [-- extra serve arguments]
#
# Then, from another terminal (the script prints these with the real ports):
#   sleep 1 | openssl s_client -connect 127.0.0.1:4433 -sess_out s.pem   # full handshake on server 1
#   sleep 1 | openssl s_client -connect 127.0.0.1:4434 -sess_in s.pem    # "Reused" on server 2
#   fastsession connect 127.0.0.1:4435 --cafile CERT --servername localhost --session-store redis://127.0.0.1:PORT/fleet --session-key fleet:443
#   (CERT: the fleet's self-signed certificate, which the script prints; connect verifies the server by default)
# --per-process gives every server its own random keys (what a fleet gets without shared keys).
# --server-cache: the servers keep their sessions in the Redis store instead (serve --no-tickets --session-store):
# TLS 1.2 session ids and TLS 1.3 stateful tickets, looked up asynchronously; try it with -tls1_2 / -tls1_3.
# Ctrl+C stops every process the script started.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
count=3 port=4433 store="" keys="" perprocess=0 servercache=0 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) count=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --per-process) perprocess=1; shift ;;
    --server-cache) servercache=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "fleet.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$count" =~ ^[1-9][0-9]?$ ]] || { echo "fleet.sh: -n must be 1-99" >&2; exit 2; }

work=$(mktemp -d /tmp/fastsession-fleet.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cli="$repo/src/FastSession.Cli/bin/Release/net10.0/FastSession.Cli.dll"
if [ ! -f "$cli" ]; then
  echo "== building the tool"
  dotnet build "$repo/src/FastSession.Cli" -c Release -nologo -v:q >/dev/null
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null

source_args=()
if [ "$servercache" = 1 ] && [ -z "$store" ] && { [ "$perprocess" = 1 ] || [ -n "$keys" ]; }; then
  echo "fleet.sh: --server-cache with --per-process or --keys needs --store redis://..." >&2; exit 2
fi
if [ "$perprocess" = 1 ]; then
  source_desc="per-process random keys (no sharing)"
elif [ -n "$keys" ]; then
  source_args=(--ticket-keys "$keys"); source_desc="key file $keys"
else
  if [ -z "$store" ]; then
    command -v redis-server >/dev/null || { echo "fleet.sh: redis-server is not installed (apt-get install -y redis-server), or pass --store/--keys" >&2; exit 2; }
    rport=$((port - 1))
    redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning \
      > "$work/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$rport") 2>/dev/null && break; sleep 0.1; done
    store="redis://127.0.0.1:$rport/fleet"
  fi
  source_args=(--ticket-keys "$store"); source_desc="$store"
fi

if [ "$servercache" = 1 ]; then
  source_args+=(--no-tickets --session-store "${store%/*}/cache"); source_desc="$source_desc; server sessions in ${store%/*}/cache"
fi

for i in $(seq 0 $((count - 1))); do
  p=$((port + i))
  dotnet "$cli" serve --accept "127.0.0.1:$p" --cert "$work/cert.pem" --key "$work/key.pem" "${source_args[@]}" "${extra[@]}" \
    > >(sed -u "s/^/[server $((i + 1)) :$p] /") 2>&1 &
  pids+=($!)
done

echo "== fleet: $count servers on 127.0.0.1:$port-$((port + count - 1)), ticket keys: $source_desc"
echo "   try:  sleep 1 | openssl s_client -connect 127.0.0.1:$port -sess_out /tmp/s.pem    # (sleep: TLS 1.3 tickets come after the handshake)"
echo "         sleep 1 | openssl s_client -connect 127.0.0.1:$((port + 1)) -sess_in /tmp/s.pem | grep -E '^(New|Reused)'"
[ -n "$store" ] && echo "         dotnet $cli connect 127.0.0.1:$((port + count - 1)) --cafile $work/cert.pem --servername localhost --session-store $store --session-key fleet:443"
echo "   Ctrl+C stops the fleet."
wait
