#!/usr/bin/env bash
# tools/valgrind-native-tests.sh — the native side under valgrind (memcheck), no sanitizers:
#   1. the shim's C tests (ctest cases in one process) through native-shim/tests/run-valgrind.sh;
#   2. the fuzz corpus generator (real TLS 1.2 / 1.3 handshakes, resumption, every session kind);
#   3. the fuzz harness's replay driver over the committed seed corpus (and FUZZ_REPLAY_DIR, e.g. a
#      working corpus left by tools/fuzz.sh).
# Fails on any memcheck error or definite/indirect leak. Build dir: VALGRIND_BUILD_DIR
# (default /tmp/fastsession-valgrind).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${VALGRIND_BUILD_DIR:-/tmp/fastsession-valgrind}"

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v cmake >/dev/null || need+=(cmake)
command -v gcc >/dev/null || need+=(gcc)
[[ -f /usr/include/openssl/ssl.h ]] || need+=(libssl-dev)
if (( ${#need[@]} > 0 )); then
  echo "valgrind: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A build dir configured from another checkout cannot be reused: start it afresh.
if [[ -f "$BUILD/CMakeCache.txt" ]] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT/native-shim" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi
cmake -S "$ROOT/native-shim" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DFASTSESSION_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" -j 2 >/dev/null
FLAGS=(-O1 -g -std=c11 -D_POSIX_C_SOURCE=200809L -I "$ROOT/native-shim/include")
gcc "${FLAGS[@]}" -o "$BUILD/fuzz_corpus_gen" "$ROOT/native-shim/fuzz/gen_corpus.c" "$BUILD/libfastsession_shim.a" -lssl -lcrypto
gcc "${FLAGS[@]}" -DFS_FUZZ_STANDALONE_MAIN -o "$BUILD/fuzz_replay" "$ROOT/native-shim/fuzz/fuzz_session_import.c" \
  "$BUILD/libfastsession_shim.a" -lssl -lcrypto

VG=(valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=yes)

echo "== valgrind: shim C tests (native-shim/tests/run-valgrind.sh)"
"$ROOT/native-shim/tests/run-valgrind.sh" "$BUILD/fs_shim_tests" 2>&1 | tail -1

echo "== valgrind: corpus generator (real handshakes)"
rm -rf "$BUILD/corpus-out"
"${VG[@]}" "$BUILD/fuzz_corpus_gen" "$BUILD/corpus-out" >"$BUILD/gen.out" 2>"$BUILD/gen.vg"
tail -1 "$BUILD/gen.out"
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|in use at exit" "$BUILD/gen.vg" | sed 's/^==[0-9]*== */  /'

echo "== valgrind: harness replay of the seed corpus ${FUZZ_REPLAY_DIR:+and $FUZZ_REPLAY_DIR}"
# shellcheck disable=SC2086
"${VG[@]}" "$BUILD/fuzz_replay" "$ROOT/native-shim/fuzz/corpus" ${FUZZ_REPLAY_DIR:-} >"$BUILD/replay.out" 2>"$BUILD/replay.vg"
tail -1 "$BUILD/replay.out"
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|in use at exit" "$BUILD/replay.vg" | sed 's/^==[0-9]*== */  /'
echo "valgrind: OK — no memcheck error, no definite or indirect leak"
