#!/usr/bin/env bash
# Runs every test: builds the solution (which builds the native shim through CMake), runs the
# native shim's C tests (ctest, real handshakes over BIO pairs), then every managed test project.
# Installs what is missing first (tools/ensure-deps.sh).
# Usage: ./test.sh            (Release)
#        CONFIG=Debug ./test.sh
set -euo pipefail
cd "$(dirname "$0")"
config="${CONFIG:-Release}"

echo "== dependencies (installs only what is missing: cmake, OpenSSL headers, redis-server, dotnet-counters, ...)"
tools/ensure-deps.sh

echo "== build (managed + native shim)"
dotnet build FastSession.sln -c "$config" -warnaserror -nologo -v:q

echo "== native tests (ctest)"
ctest --test-dir "artifacts/native/$config" --output-on-failure

echo "== managed tests"
dotnet test FastSession.sln -c "$config" --no-build -nologo
