#!/usr/bin/env bash
# tools/fuzz.sh [SECONDS] — builds the libFuzzer harness over the shim's session import
# (native-shim/fuzz/) with clang + ASan + UBSan and fuzzes it for SECONDS (default 60).
#
# Fails (exit 1) on any crash, sanitizer report, leak (LSan), broken invariant (the harness aborts),
# timeout or out-of-memory; prints executions, coverage and corpus size either way.
#
# Environment:
#   FUZZ_BUILD_DIR   cmake build dir          (default /tmp/fastsession-fuzz/build)
#   FUZZ_WORK_DIR    working corpus/artifacts (default /tmp/fastsession-fuzz/work; the committed
#                    corpus in native-shim/fuzz/corpus is only read, never written)
#   FUZZ_RSS_MB      -rss_limit_mb            (default 2048)
#   FUZZ_EXTRA_ARGS  more libFuzzer flags
#   --regen-corpus   (first argument) rewrites native-shim/fuzz/corpus from real handshakes, then exits
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_SRC="$ROOT/native-shim/fuzz"
BUILD="${FUZZ_BUILD_DIR:-/tmp/fastsession-fuzz/build}"
WORK="${FUZZ_WORK_DIR:-/tmp/fastsession-fuzz/work}"
RSS_MB="${FUZZ_RSS_MB:-2048}"

REGEN=0
if [[ "${1:-}" == "--regen-corpus" ]]; then
  REGEN=1
  shift
fi
SECONDS_TO_RUN="${1:-60}"
if ! [[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || (( SECONDS_TO_RUN < 1 )); then
  echo "usage: tools/fuzz.sh [--regen-corpus] [SECONDS]" >&2
  exit 2
fi

# ---- Toolchain (CI installs what it uses) ---------------------------------------------------------
CC_BIN="$(command -v clang-14 || command -v clang || true)"
need=()
[[ -n "$CC_BIN" ]] || need+=(clang-14)
command -v cmake >/dev/null || need+=(cmake)
[[ -f /usr/include/openssl/ssl.h ]] || need+=(libssl-dev)
# libFuzzer's runtime ships in libclang-rt-14-dev on Debian 12.
if [[ -n "$CC_BIN" ]]; then
  rt_dir="$("$CC_BIN" -print-resource-dir)/lib/linux"
  [[ -f "$rt_dir/libclang_rt.fuzzer-x86_64.a" ]] || need+=(libclang-rt-14-dev)
else
  need+=(libclang-rt-14-dev)
fi
if (( ${#need[@]} > 0 )); then
  echo "fuzz.sh: installing ${need[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  CC_BIN="$(command -v clang-14 || command -v clang)"
fi

# ---- Build ---------------------------------------------------------------------------------------
# A build dir configured from another checkout cannot be reused: start it afresh.
if [[ -f "$BUILD/CMakeCache.txt" ]] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$FUZZ_SRC" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi
mkdir -p "$BUILD"
CC="$CC_BIN" cmake -S "$FUZZ_SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD/configure.log" 2>&1 \
  || { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD" -j 2 >"$BUILD/build.log" 2>&1 || { cat "$BUILD/build.log"; exit 1; }

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

if (( REGEN )); then
  rm -f "$FUZZ_SRC"/corpus/*.der "$FUZZ_SRC"/corpus/*.pem
  "$BUILD/fuzz_corpus_gen" "$FUZZ_SRC/corpus" | tail -1
  exit 0
fi

# ---- Fresh sessions (real handshakes through the ASan/UBSan shim) + the committed corpus -----------
rm -rf "$WORK/artifacts" "$WORK/fresh"
mkdir -p "$WORK/corpus" "$WORK/artifacts" "$WORK/fresh"
"$BUILD/fuzz_corpus_gen" "$WORK/fresh" >"$WORK/fresh.log" 2>&1 || { cat "$WORK/fresh.log"; exit 1; }
tail -1 "$WORK/fresh.log"

LOG="$WORK/fuzz.log"
echo "fuzz.sh: fuzzing for ${SECONDS_TO_RUN}s (log: $LOG)"
set +e
# shellcheck disable=SC2086
"$BUILD/fuzz_session_import" \
  -max_total_time="$SECONDS_TO_RUN" \
  -detect_leaks=1 \
  -rss_limit_mb="$RSS_MB" \
  -malloc_limit_mb="$RSS_MB" \
  -timeout=25 \
  -max_len=8192 \
  -print_final_stats=1 \
  -artifact_prefix="$WORK/artifacts/" \
  ${FUZZ_EXTRA_ARGS:-} \
  "$WORK/corpus" "$FUZZ_SRC/corpus" "$WORK/fresh" >"$LOG" 2>&1
rc=$?
set -e

final="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$LOG" | tail -1 || true)"
execs="$(grep -E '^stat::number_of_executed_units' "$LOG" | awk '{print $2}' || true)"
rate="$(grep -E '^stat::average_exec_per_sec' "$LOG" | awk '{print $2}' || true)"
rss="$(grep -E '^stat::peak_rss_mb' "$LOG" | awk '{print $2}' || true)"
corpus_files="$(find "$WORK/corpus" -type f | wc -l)"
seed_files="$(find "$FUZZ_SRC/corpus" -type f | wc -l)"
echo "fuzz.sh: ${final:-no DONE line}"
echo "fuzz.sh: executions=${execs:-?} exec/s=${rate:-?} peak_rss_mb=${rss:-?} seeds=${seed_files} working_corpus=${corpus_files} files"

artifacts="$(find "$WORK/artifacts" -type f | head -20)"
reports="$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed' "$LOG" || true)"
if (( rc != 0 )) || [[ -n "$artifacts" ]] || (( reports > 0 )); then
  echo "fuzz.sh: FAILED (exit $rc, $reports report(s))" >&2
  grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed' "$LOG" | head -80 >&2 || true
  [[ -n "$artifacts" ]] && echo "reproducers:" >&2 && echo "$artifacts" >&2
  exit 1
fi
echo "fuzz.sh: OK — no crash, leak, sanitizer report or broken invariant"
