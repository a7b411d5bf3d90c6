#!/usr/bin/env bash
# Proves the NativeAOT build of a Kestrel + FastSession server (samples/KestrelSample, net10.0): publishes with zero AOT/trim
# warnings allowed and the shim linked statically, starts it, and has curl (one process, so it keeps its TLS sessions) ask
# over HTTP/1.1 with Connection: close, then over HTTP/2 on a new connection, which must be a resumed session with ALPN h2.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fs-aot-kestrel.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "== publish KestrelSample (NativeAOT, net10.0, linux-x64)"
dotnet publish "$repo/samples/KestrelSample" -c Release -r linux-x64 -o "$work/out" \
  --artifacts-path "$work/artifacts" -nologo -warnaserror -p:FastSessionNativeBuildDir="$work/native/" 2>&1 | tee "$work/publish.log"
if grep -E "warning (IL|AOT)" "$work/publish.log"; then echo "AOT/trim warnings found"; exit 1; fi
bin="$work/out/KestrelSample"
rm -f "$work/out/libfastsession_shim.so"   # must not be needed: the shim is linked statically
if ldd "$bin" | grep -q fastsession_shim; then echo "the AOT binary still loads libfastsession_shim.so"; exit 1; fi
echo "binary: $(stat -c %s "$bin") bytes"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
t0=$(date +%s%N)
"$bin" --port "$p" --cert "$work/cert.pem" --key "$work/key.pem" > "$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q "listening on" "$work/server.log" && break; sleep 0.05; done
grep -q "listening on" "$work/server.log" || { echo "server did not start"; cat "$work/server.log"; exit 1; }
echo "process start to listening: $(( ($(date +%s%N) - t0) / 1000000 )) ms"

echo "== curl: HTTP/1.1 (Connection: close), then HTTP/2 on a new connection"
curl -sS --cacert "$work/cert.pem" --http1.1 -H "Connection: close" "https://localhost:$p/" \
  --next --http2 --cacert "$work/cert.pem" "https://localhost:$p/" | tee "$work/curl.txt"
grep -q "^HTTP/1.1 TLSv1.3 reused=False outcome=NotOffered alpn=http/1.1" "$work/curl.txt"
grep -q "^HTTP/2 TLSv1.3 reused=True outcome=Resumed alpn=h2" "$work/curl.txt" || { echo "no resumed HTTP/2 answer"; exit 1; }
echo "AOT Kestrel + FastSession answered curl over HTTP/2 with a resumed session"
