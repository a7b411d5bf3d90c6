#!/usr/bin/env bash
# CI smoke test of the benchmarks (about a minute): every BenchmarkDotNet class once, one cold invocation per
# benchmark in-process (Program --smoke), failing on any benchmark error; then the C reference in --quick mode.
# Measures nothing. Exit status 0 = every benchmark ran.
# Environment: DOTNET_ARTIFACTS (default /tmp/art-bench-smoke): where dotnet puts obj/ and bin/.
set -euo pipefail
# The C reference as a library, for the benchmarks' in-process C methods (see Interop/NativeReference.cs).
export FASTSESSION_CBENCH_LIB=${FASTSESSION_CBENCH_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/artifacts/cbench/libfastsession_cbench.so}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/artifacts/bench-smoke"
dotnet_artifacts=${DOTNET_ARTIFACTS:-/tmp/art-bench-smoke}
mkdir -p "$out"

echo "== C reference, one quick run"
cmake -S "$repo/bench/native" -B "$repo/artifacts/cbench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$repo/artifacts/cbench" -j 2 >/dev/null
"$repo/artifacts/cbench/fastsession_cbench" --quick > "$out/cbench.jsonl"
ops=$(grep -c '"ns_per_op"' "$out/cbench.jsonl" || true)
if [[ "$ops" -lt 18 ]]; then
    echo "C reference: expected 18 operations, got $ops" >&2
    exit 1
fi
echo "C reference: $ops operations ran"

echo "== managed benchmarks, one invocation each"
dotnet build -c Release "$repo/bench/FastSession.Benchmarks" --artifacts-path "$dotnet_artifacts" -nologo -v q
(cd "$out" && dotnet "$dotnet_artifacts/bin/FastSession.Benchmarks/release/FastSession.Benchmarks.dll" --smoke --artifacts "$out/bdn")
