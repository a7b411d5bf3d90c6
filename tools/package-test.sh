#!/usr/bin/env bash
# Packs FastSession into a throw-away local feed, builds tests/PackageConsumer (copied out of the repo so
# only the package is visible to it) and runs a resumed handshake with it: under the JIT (net10.0) and as
# a NativeAOT binary (net10.0, which links the package's static shim through buildTransitive targets).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fs-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
version="0.1.0-local.$(date +%s)"

dotnet pack "$repo/src/FastSession" -c Release -o "$work/feed" -p:Version="$version" -nologo -v:q
cp -r "$repo/tests/PackageConsumer" "$work/consumer"
cat > "$work/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <!-- Added to the machine's default sources, not replacing them. -->
    <add key="fastsession-local" value="$work/feed" />
  </packageSources>
</configuration>
XML
cd "$work/consumer"
echo "== consumer (JIT, net10.0)"
dotnet run -c Release -f net10.0 -p:FastSessionVersion="$version" -nologo
if [ "${FASTSESSION_SKIP_AOT:-0}" != "1" ]; then
  echo "== consumer (NativeAOT, net10.0)"
  dotnet publish -c Release -r linux-x64 -f net10.0 -p:FastSessionVersion="$version" -o "$work/aot" -nologo -v:q
  "$work/aot/PackageConsumer"
fi
echo "== package test passed"
