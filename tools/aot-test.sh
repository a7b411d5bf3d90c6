#!/usr/bin/env bash
# Proves the NativeAOT build of the `fastsession` tool (net10.0):
# publishes with zero warnings allowed, checks the shim is linked in (no libfastsession_shim.so needed),
# runs `demo`, and runs the same openssl interop as the JIT build: connect --reconnect against
# `openssl s_server`, and `openssl s_client -sess_out/-sess_in` resuming against `serve`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fs-aot.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "== publish (NativeAOT, net10.0, linux-x64)"
start=$(date +%s%N)
dotnet publish "$repo/src/FastSession.Cli" -c Release -r linux-x64 -f net10.0 -o "$work/out" \
  --artifacts-path "$work/artifacts" -nologo -warnaserror -p:FastSessionNativeBuildDir="$work/native/" 2>&1 | tee "$work/publish.log"
if grep -E "warning (IL|AOT)" "$work/publish.log"; then echo "AOT/trim warnings found"; exit 1; fi
bin="$work/out/fastsession"
rm -f "$work/out/libfastsession_shim.so"   # must not be needed: the shim is linked statically
if ldd "$bin" | grep -q fastsession_shim; then echo "the AOT binary still loads libfastsession_shim.so"; exit 1; fi
echo "binary: $(stat -c %s "$bin") bytes"

echo "== demo (AOT)"
t0=$(date +%s%N)
"$bin" demo > "$work/demo.txt"
grep -q "yes / yes" "$work/demo.txt"
echo "demo ok in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj /CN=localhost 2>/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until something listens on the port, without connecting (serve --count would count a probe).
wait_port() { for _ in $(seq 200); do ss -ltn | grep -q "127.0.0.1:$1 " && return 0; sleep 0.1; done; return 1; }

for tls in 1.2 1.3; do
  echo "== connect --reconnect 4 --tls $tls against openssl s_server (AOT)"
  p=$(port)
  openssl s_server -accept "127.0.0.1:$p" -cert "$work/cert.pem" -key "$work/key.pem" "-tls${tls/./_}" -www -quiet >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$p"
  t0=$(date +%s%N)
  # connect verifies by default: trust the self-signed certificate and check its name.
  "$bin" connect "127.0.0.1:$p" --tls "$tls" --cafile "$work/cert.pem" --servername localhost > /dev/null
  echo "process start to first handshake done and exit: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  "$bin" connect "127.0.0.1:$p" --tls "$tls" --cafile "$work/cert.pem" --servername localhost --reconnect 4 --json > "$work/connect-$tls.json"
  # and refuses the same server without the trust (exit 1, one line naming the reason)
  if "$bin" connect "127.0.0.1:$p" --tls "$tls" --servername localhost 2> "$work/untrusted-$tls.txt"; then echo "connect accepted an untrusted certificate"; exit 1; fi
  grep -q "untrusted root" "$work/untrusted-$tls.txt"
  reused=$(grep -c '"reused":true' "$work/connect-$tls.json" || true)
  echo "reused $reused of 4 reconnects"
  [ "$reused" -ge 4 ]
  kill "${pids[-1]}" 2>/dev/null || true

  echo "== openssl s_client -sess_out/-sess_in against serve --tls $tls (AOT)"
  p=$(port)
  "$bin" serve --accept "127.0.0.1:$p" --tls "$tls" --count 2 > "$work/serve-$tls.log" 2>&1 &
  pids+=($!)
  wait_port "$p"
  echo | timeout 20 openssl s_client -connect "127.0.0.1:$p" -servername localhost -sess_out "$work/sess-$tls.pem" -ign_eof >/dev/null 2>&1 </dev/null || true
  echo | timeout 20 openssl s_client -connect "127.0.0.1:$p" -servername localhost -sess_in "$work/sess-$tls.pem" > "$work/sclient-$tls.txt" 2>&1 </dev/null || true
  grep -q "^Reused," "$work/sclient-$tls.txt" || { echo "s_client did not resume against the AOT server"; cat "$work/sclient-$tls.txt" | head -20; exit 1; }
  echo "s_client resumed"
  "$bin" inspect "$work/sess-$tls.pem" > /dev/null
done
echo "== AOT checks passed"
