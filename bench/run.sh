#!/usr/bin/env bash
# Runs FastSession's benchmarks and writes the combined table (bench/RESULTS.md is written from it by hand).
#
#   bench/run.sh                 C reference + every managed benchmark class + the table
#   MICRO_ARGS='--job short' bench/run.sh    quicker micro-benchmarks (default: BenchmarkDotNet's default job)
#   GROUPS_TO_RUN=handshakes bench/run.sh    only the handshake group (micro, handshakes)
#
# Steps:
#   1. the C reference: cmake -S bench/native -B artifacts/cbench (builds native-shim in there); its
#      micro-operations run right before the managed micro-benchmarks and its handshakes right before the managed
#      handshakes (on a noisy machine, what runs close in time compares best)
#      → artifacts/bench/cbench.jsonl, one {"op":..., "ns_per_op":...} per line;
#   2. the managed benchmarks, built with --artifacts-path (default /tmp/art-bench, so this build never races
#      another build of the same tree in obj/ and bin/), run in-process by BenchmarkDotNet: the micro-benchmark
#      classes with MICRO_ARGS (default: the default job), the handshake classes with HANDSHAKE_ARGS (default:
#      3 warm-up + 15 measured iterations — the default job of two classes of millisecond handshakes takes long)
#      → artifacts/bench/bdn/results/*-report-full-compressed.json;
#   3. the table: artifacts/bench/table.md (ratios vs C and vs SslStream against the DESIGN.md targets).
# Environment: CBENCH_RUNS (7), MICRO_ARGS, HANDSHAKE_ARGS, GROUPS_TO_RUN, BENCH_FILTER (a glob for BenchmarkDotNet, replaces the
# per-group filters), DOTNET_ARTIFACTS (/tmp/art-bench), SKIP_C=1, SKIP_MANAGED=1.
set -euo pipefail
# The C reference as a library, for the benchmarks' in-process C methods (see Interop/NativeReference.cs).
export FASTSESSION_CBENCH_LIB=${FASTSESSION_CBENCH_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/artifacts/cbench/libfastsession_cbench.so}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/artifacts/bench"
dotnet_artifacts=${DOTNET_ARTIFACTS:-/tmp/art-bench}
# BenchmarkDotNet job arguments per group: the micro-benchmarks get the default job; the handshake classes (a few ms per
# operation, 28 + 12 cases) get 3 warm-up and 15 measured iterations — ShortRun's 3 were too few on this noisy machine.
read -r -a micro_args <<< "${MICRO_ARGS:-}"
read -r -a handshake_args <<< "${HANDSHAKE_ARGS:---warmupCount 3 --iterationCount 15}"
groups=${GROUPS_TO_RUN:-micro handshakes}
mkdir -p "$out"

cbench="$repo/artifacts/cbench/fastsession_cbench"
if [[ "${SKIP_C:-0}" != 1 ]]; then
    echo "== C reference (bench/native): build"
    cmake -S "$repo/bench/native" -B "$repo/artifacts/cbench" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$repo/artifacts/cbench" -j 2 >/dev/null
    # A run of one group keeps the other group's standalone numbers.
    [[ " $groups " == *" micro "* && " $groups " == *" handshakes "* ]] && : > "$out/cbench.jsonl"
fi
run_c() { # filters... — each group of C operations runs right before its managed counterparts (noisy machine)
    [[ "${SKIP_C:-0}" == 1 ]] && return 0
    local args=()
    for f in "$@"; do args+=(--filter "$f"); done
    "$cbench" --runs "${CBENCH_RUNS:-7}" "${args[@]}" | tee -a "$out/cbench.jsonl"
}

dll="$dotnet_artifacts/bin/FastSession.Benchmarks/release/FastSession.Benchmarks.dll"
run_bdn() { # filters... -- job arguments...
    [[ "${SKIP_MANAGED:-0}" == 1 ]] && return 0
    local filters=()
    while [[ $# -gt 0 && "$1" != -- ]]; do filters+=("$1"); shift; done
    shift || true
    (cd "$out" && dotnet "$dll" --filter "${filters[@]}" "$@" --artifacts "$out/bdn")
}
if [[ "${SKIP_MANAGED:-0}" != 1 ]]; then
    echo "== managed benchmarks (bench/FastSession.Benchmarks): build"
    dotnet build -c Release "$repo/bench/FastSession.Benchmarks" --artifacts-path "$dotnet_artifacts" -nologo -v q
fi

if [[ -n "${BENCH_FILTER:-}" ]]; then
    run_c get0 get1 info handshake
    run_bdn "$BENCH_FILTER" -- "${micro_args[@]}"
else
    if [[ " $groups " == *" micro "* ]]; then
        echo "== micro-operations"
        run_c get0 get1 info
        run_bdn '*Get0VsBaselines*' '*Get1VsBaselines*' '*InfoSnapshotVsPerField*' '*BorrowedVsOwned*' '*PooledVsNewOwned*' -- "${micro_args[@]}"
    fi
    if [[ " $groups " == *" handshakes "* ]]; then
        echo "== handshakes"
        run_c handshake
        run_bdn '*MemoryHandshakeResetVsNew*' '*TcpHandshakeFastSessionVsSslStream*' -- "${handshake_args[@]}"
    fi
fi

echo "== table"
dotnet "$dll" --combine "$out/bdn/results" "$out/cbench.jsonl" "$out/table.md" >/dev/null
echo "written: $out/table.md"
cat "$out/table.md"
