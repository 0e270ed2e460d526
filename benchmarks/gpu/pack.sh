#!/usr/bin/env bash
# Packs, on this machine, what a GPU machine needs to test and benchmark magvit4j, into .gpu/
# (git-ignored): a jlink'd Java 25 runtime (the GPU machines have no JVM and no network), the
# jar with its GPU dependencies, the test classes with JUnit's console launcher, the golden
# cases, and the Open-MAGVIT2 reference source for the PyTorch peers. benchmarks/gpu/run.sh
# runs it all there. With the device tool: carry [".gpu"], command "bash benchmarks/gpu/run.sh".
#
# Everything must travel in 64 MiB: the runtime is jlink'd uncompressed and then xz'd (21 MB with
# java.desktop, which PNG reading and writing need; jlink's own zip compression would leave xz
# less to do), the goldens are xz'd, and JCuda's natives keep only the driver binding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$(pwd)
out="$root/.gpu"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

jdk=""
for home in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
  [ -x "$home/bin/jlink" ] || continue
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" 2>/dev/null || true)
  if [ -n "$v" ] && [ "$v" -ge 25 ]; then jdk="$home"; break; fi
done
[ -n "$jdk" ] || { echo "pack: needs a JDK >= 25 with jlink" >&2; exit 1; }
command -v nvcc >/dev/null || { echo "pack: nvcc is needed to build the kernels" >&2; exit 1; }

echo "[pack] building the jar, the kernels and the tests"
JAVA_HOME="$jdk" mvn -q -B -DskipTests package test-compile

rm -rf "$out"
mkdir -p "$out/lib"

echo "[pack] jlink runtime"
"$jdk/bin/jlink" --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.xml,java.management,java.desktop \
  --strip-debug --no-header-files --no-man-pages --output "$work/jre" 2>/dev/null
tar -cf - -C "$work" jre | xz -9 -T0 > "$out/jre.tar.xz"

echo "[pack] jars"
cp target/magvit4j.jar "$out/"
cp target/lib/jcuda-12.6.0.jar target/lib/jcublas-12.6.0.jar target/lib/jcublas-natives-12.6.0-linux-x86_64.jar "$out/lib/"
# The natives jar under its own name (the jar's Class-Path names it) with the driver binding only.
mkdir -p "$work/natives"
(cd "$work/natives" && unzip -q "$root/target/lib/jcuda-natives-12.6.0-linux-x86_64.jar" 'lib/libJCudaDriver-*' 'META-INF/*')
(cd "$work/natives" && "$jdk/bin/jar" --create --file "$out/lib/jcuda-natives-12.6.0-linux-x86_64.jar" .)
"$jdk/bin/jar" --create --file "$out/tests.jar" -C target/test-classes .
JAVA_HOME="$jdk" mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 -DoutputDirectory="$out/lib"

echo "[pack] golden cases and the reference source"
goldens="${GOLDENS_DIR:-$root/../shared/goldens}"
tar -cf - -C "$(readlink -f "$goldens")" . | xz -9 -T0 > "$out/goldens.tar.xz"
ref=/work/.mirror/TencentARC+Open-MAGVIT2/repo
if [ -d "${MAGVIT2_REF:-/tmp/om2ref}/src" ]; then
  tar -czf "$out/om2ref.tar.gz" -C "${MAGVIT2_REF:-/tmp/om2ref}" src
elif [ -d "$ref" ]; then
  git --git-dir "$ref" archive --format=tar.gz -o "$out/om2ref.tar.gz" HEAD src
else
  echo "[pack] no Open-MAGVIT2 checkout: the PyTorch peers of the tokenizer and AR model will be skipped"
fi

size=$(du -sm "$out" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cm 2>/dev/null | tail -n 1 | cut -f1)
echo "[pack] .gpu is ${size} MiB (+ ${tree} MiB of tracked files travel with it; the limit is 64 MiB)"
[ $((size + tree)) -lt 64 ] || { echo "pack: too large to travel" >&2; exit 1; }
