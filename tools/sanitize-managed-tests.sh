#!/usr/bin/env bash
# tools/sanitize-managed-tests.sh [dotnet test args...]
#
# Runs the managed test suite (tests/FastSession.Tests) against an AddressSanitizer + UBSan build of
# the native shim, and fails on any sanitizer report.
#
#  1. builds the shim with FASTSESSION_SANITIZE=ON (gcc, -fsanitize=address,undefined,
#     -fno-sanitize-recover=all) into its own directory through the product's own build target
#     (dotnet build -p:FastSessionNativeSanitize=ON -p:FastSessionNativeBuildDir=...), so the
#     instrumented libfastsession_shim.so is the one copied next to the tests; runs the shim's C tests
#     (ctest) from that build too;
#  2. checks the copied .so really is instrumented (nm: __asan_init);
#  3. runs `dotnet test --no-build` with a runsettings file that gives only the test host process
#     LD_PRELOAD=$(gcc -print-file-name=libasan.so) and the sanitizer options below, plus
#     FASTSESSION_EXPECT_SANITIZED_SHIM=1, which makes SanitizerEnvironmentTests fail unless
#     /proc/self/maps shows the instrumented shim (from the expected directory) and the ASan runtime;
#  4. fails if the tests fail, the host crashes, or any ASan/UBSan report appears in the output or in
#     the log_path files.
#
# ASAN_OPTIONS for a .NET host:
#   detect_leaks=0            the CLR never frees its own heaps, JIT and GC structures at exit, so
#                             LeakSanitizer would report thousands of runtime "leaks" that are not
#                             ours. Leaks of OpenSSL objects are caught instead by the live-count
#                             assertion of every test (LiveObjectTest) and by valgrind / LSan on the
#                             native tests and the fuzzer (tools/valgrind-native-tests.sh, tools/fuzz.sh).
#   handle_segv=0, handle_sigbus=0, allow_user_segv_handler=1
#                             the CLR turns SIGSEGV in managed code into NullReferenceException with
#                             its own handler; ASan must leave that signal to it.
#   use_sigaltstack=0         the CLR manages alternate signal stacks itself.
#   detect_stack_use_after_return=0  no fake stacks under frames the CLR walks.
#   halt_on_error=1, abort_on_error=1, log_path=...  first report stops the host and is kept on disk.
#
# Environment: SANITIZE_OUT_DIR (default /tmp/fastsession-sanitize), CONFIG (default Release).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${SANITIZE_OUT_DIR:-/tmp/fastsession-sanitize}"
CONFIG="${CONFIG:-Release}"
ART="$OUT/artifacts"
NATIVE="$OUT/native/"
LOGS="$OUT/logs"
PROJECT="$ROOT/tests/FastSession.Tests/FastSession.Tests.csproj"

need=()
command -v gcc >/dev/null || need+=(gcc)
command -v cmake >/dev/null || need+=(cmake)
command -v flock >/dev/null || need+=(util-linux)
[[ -f /usr/include/openssl/ssl.h ]] || need+=(libssl-dev)
if (( ${#need[@]} > 0 )); then
  echo "sanitize: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
LIBASAN="$(gcc -print-file-name=libasan.so)"
if [[ ! -e "$LIBASAN" ]]; then
  echo "sanitize: gcc's libasan.so not found ($LIBASAN)" >&2
  exit 1
fi
LIBASAN="$(readlink -f "$LIBASAN")"

# A build dir configured from another checkout cannot be reused: start it afresh.
if [[ -f "${NATIVE%/}/CMakeCache.txt" ]] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT/native-shim" "${NATIVE%/}/CMakeCache.txt"; then
  rm -rf "${NATIVE%/}"
fi
rm -rf "$LOGS"
mkdir -p "$LOGS" "$NATIVE"

echo "== sanitize: build (shim with FASTSESSION_SANITIZE=ON in $NATIVE)"
dotnet build "$PROJECT" -c "$CONFIG" --artifacts-path "$ART" -nologo -v:q \
  -p:FastSessionNativeSanitize=ON -p:FastSessionNativeBuildDir="$NATIVE" 2>&1 | tail -3

if ! grep -q 'FASTSESSION_SANITIZE:BOOL=ON' "$NATIVE/CMakeCache.txt"; then
  echo "sanitize: $NATIVE was not configured with FASTSESSION_SANITIZE=ON" >&2
  exit 1
fi

BIN="$(dirname "$(find "$ART/bin/FastSession.Tests" -name FastSession.Tests.dll -path "*${CONFIG,,}*" | head -1)")"
SHIM="$BIN/libfastsession_shim.so"
if ! nm -D "$SHIM" | grep '__asan_init' >/dev/null; then  # no -q: under pipefail an early grep exit SIGPIPEs nm
  echo "sanitize: $SHIM is not instrumented (no __asan_init)" >&2
  exit 1
fi
echo "sanitize: test output uses $SHIM ($(ldd "$SHIM" | grep -oE 'lib(asan|ubsan)\.so[^ ]*' | tr '\n' ' '))"

echo "== sanitize: shim C tests (ctest, ASan + UBSan)"
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  ctest --test-dir "$NATIVE" --output-on-failure 2>&1 | tail -3

ASAN_OPTS="detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:allow_user_segv_handler=1:use_sigaltstack=0:detect_stack_use_after_return=0:halt_on_error=1:abort_on_error=1:print_summary=1:log_path=$LOGS/asan"
UBSAN_OPTS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan"
SETTINGS="$OUT/sanitize.runsettings"
cat >"$SETTINGS" <<XML
<?xml version="1.0" encoding="utf-8"?>
<RunSettings>
  <RunConfiguration>
    <EnvironmentVariables>
      <LD_PRELOAD>$LIBASAN</LD_PRELOAD>
      <ASAN_OPTIONS>$ASAN_OPTS</ASAN_OPTIONS>
      <UBSAN_OPTIONS>$UBSAN_OPTS</UBSAN_OPTIONS>
      <FASTSESSION_EXPECT_SANITIZED_SHIM>1</FASTSESSION_EXPECT_SANITIZED_SHIM>
      <FASTSESSION_EXPECTED_SHIM_DIR>$BIN</FASTSESSION_EXPECTED_SHIM_DIR>
    </EnvironmentVariables>
  </RunConfiguration>
</RunSettings>
XML

echo "== sanitize: dotnet test (test host under LD_PRELOAD=$LIBASAN)"
set +e
dotnet test "$PROJECT" -c "$CONFIG" --artifacts-path "$ART" --no-build -nologo --settings "$SETTINGS" \
  --logger "console;verbosity=detailed" "$@" >"$LOGS/dotnet-test.log" 2>&1
rc=$?
set -e
grep -E '^\s*(Passed|Failed|Skipped|Total tests|Test Run)|^(Passed|Failed)!|Total tests:|Passed:|Failed:' "$LOGS/dotnet-test.log" | tail -6 || true
grep -E 'shim mapped from|ASan runtime mapped|instrumented with ASan' "$LOGS/dotnet-test.log" | sed 's/^ */sanitize: /' || true

reports_in_output="$(grep -cE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)' "$LOGS/dotnet-test.log" || true)"
report_files="$(find "$LOGS" -name 'asan.*' -o -name 'ubsan.*' | sort)"
reports_in_files=0
for f in $report_files; do
  n="$(grep -cE 'ERROR: AddressSanitizer|runtime error:|SUMMARY:' "$f" || true)"
  reports_in_files=$(( reports_in_files + n ))
done
echo "sanitize: dotnet test exit $rc; sanitizer reports: $reports_in_output in the output, $reports_in_files in $LOGS"
if (( rc != 0 )) || (( reports_in_output > 0 )) || (( reports_in_files > 0 )); then
  for f in $report_files; do echo "---- $f"; head -60 "$f"; done >&2
  grep -E -B5 -A40 'ERROR: AddressSanitizer|runtime error:|Test host process crashed|\[FAIL\]' "$LOGS/dotnet-test.log" | head -120 >&2 || true
  echo "sanitize: FAILED (log: $LOGS/dotnet-test.log)" >&2
  exit 1
fi
if ! grep -q 'LoadedShim_IsTheSanitizedBuild' "$LOGS/dotnet-test.log"; then
  echo "sanitize: SanitizerEnvironmentTests did not run: cannot prove the instrumented shim was loaded" >&2
  exit 1
fi

# Negative control: a deliberate heap overflow inside the shim must kill the host with an ASan report.
echo "== sanitize: negative control (a deliberate shim heap overflow must be reported)"
CHECK_LOGS="$OUT/selfcheck-logs"
rm -rf "$CHECK_LOGS"
mkdir -p "$CHECK_LOGS"
sed -e "s#$LOGS/#$CHECK_LOGS/#g" \
    -e 's#<FASTSESSION_EXPECT_SANITIZED_SHIM>1#<FASTSESSION_SANITIZER_SELF_CHECK>1</FASTSESSION_SANITIZER_SELF_CHECK><FASTSESSION_EXPECT_SANITIZED_SHIM>1#' \
    "$SETTINGS" >"$OUT/selfcheck.runsettings"
set +e
dotnet test "$PROJECT" -c "$CONFIG" --artifacts-path "$ART" --no-build -nologo --settings "$OUT/selfcheck.runsettings" \
  --filter "FullyQualifiedName~SelfCheck_AShimHeapOverflow" >"$CHECK_LOGS/dotnet-test.log" 2>&1
check_rc=$?
set -e
if (( check_rc == 0 )) || ! grep -qs 'heap-buffer-overflow' "$CHECK_LOGS"/asan.*; then
  echo "sanitize: the negative control was NOT caught (exit $check_rc): this run proves nothing" >&2
  exit 1
fi
echo "sanitize: negative control caught: $(grep -h -m1 'ERROR: AddressSanitizer' "$CHECK_LOGS"/asan.* | sed 's/^==[0-9]*==//')"
echo "sanitize: OK — every test passed with the ASan/UBSan shim loaded, no sanitizer report"
