#!/bin/sh
# Runs every C test case of the shim under valgrind and fails on any error or definite leak.
# Usage: run-valgrind.sh [BUILD_DIR | PATH/TO/fs_shim_tests]   (default: artifacts/native/Debug)
# Use a build without FASTSESSION_SANITIZE (ASan and valgrind do not mix).
# Also registered as the ctest test valgrind_all_cases: `ctest -C valgrind -R valgrind`.
set -eu

target=${1:-artifacts/native/Debug}
if [ -d "$target" ]; then
    bin=$target/fs_shim_tests
else
    bin=$target
fi
if [ ! -x "$bin" ]; then
    echo "run-valgrind.sh: $bin not found (build the shim with tests first)" >&2
    exit 2
fi
command -v valgrind >/dev/null 2>&1 || { echo "run-valgrind.sh: valgrind not installed" >&2; exit 2; }

# One process runs every case (each still checks its live-count baseline); one valgrind start-up.
exec valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-origins=yes "$bin"
