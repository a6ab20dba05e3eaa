#!/usr/bin/env bash
# QEMU's own C next to pinbench, in Go's benchmark format. It builds QEMU's
# unit tests from Debian's source package (once, in a cache folder outside
# the repository) with pinbench's C harness peers/qemu/handoff.c inside that
# tree, then runs:
#   BenchmarkHandoff/impl=qemu/wait=poll|adaptive|block/pin=cpu/place=P
#       the harness: aio_co_schedule ping-pong between two pinned iothreads
#       at every placement class (and unpinned), as pinbench's via=aio
#   BenchmarkCoroutine/op=switch|lifecycle/impl=qemu
#       test-coroutine's /perf/yield and /perf/lifecycle
#   BenchmarkMutex/lock=comutex|mcs|sync/impl=qemu/contexts=N/place=unpinned
#       test-aio-multithread's /aio/multi/mutex tests (contended, mcs and
#       pthread: 5 contexts; handoff: 2 contexts); its pthread mutex is
#       named lock=sync, after its Go peer, sync.Mutex
#
#   scripts/peer-qemu.sh [-r rounds]            # QEMU only, to stdout (1 round)
#   scripts/peer-qemu.sh --compare [-r rounds] [-o file]
#       QEMU's runs and pinbench's matching benchmarks interleaved in rounds
#       (default 6; about a minute each on 2 cores), the order alternating
#       between rounds, then benchstat tables by /impl. The raw results go
#       to -o (default out/peer-qemu.txt). pinbench's handoff is renamed
#       from via=aio to impl=pinbench, its Mutex/impl=L to
#       Mutex/lock=L/impl=pinbench, and every name loses its -N suffix, so
#       that benchstat lines the two up.
#   scripts/peer-qemu.sh --build                # fetch and build only
#   scripts/peer-qemu.sh --smoke                # CI: harness only, where a cached build exists
#
# The cache is $PINBENCH_QEMU_CACHE (default ~/.cache/pinbench/qemu); the
# first build needs root (it enables deb-src in apt's debian.sources and
# installs the build dependencies), network to Debian's mirrors, and a few
# minutes of CPU. Later runs reuse it, rebuilding only the harness.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${PINBENCH_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pinbench/qemu}
mode=print rounds= out=out/peer-qemu.txt

usage() {
  sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
  --compare) mode=compare ;;
  --build) mode=build ;;
  --smoke) mode=smoke ;;
  -r) rounds=$2; shift ;;
  -o) out=$2; shift ;;
  -h | --help) usage ;;
  *) echo "peer-qemu: unknown argument $1" >&2; usage ;;
  esac
  shift
done
if [ -z "$rounds" ]; then
  if [ $mode = compare ]; then rounds=6; else rounds=1; fi
fi

say() { echo "peer-qemu: $*" >&2; }

# src: the unpacked source package in the cache, if any.
src=$(find "$cache" -maxdepth 2 -name configure -path "$cache/qemu-*/configure" 2>/dev/null | head -n 1 || true)
src=${src%/configure}
build=${src:+$src/build}

fetch() {
  mkdir -p "$cache"
  if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    say "no QEMU source in $cache, and fetching it needs apt-get as root (DESIGN.md section 7)"
    exit 1
  fi
  sources=/etc/apt/sources.list.d/debian.sources
  if [ -f $sources ] && ! grep -q '^Types:.*deb-src' $sources; then
    say "enabling deb-src in $sources"
    sed -i 's/^Types: deb$/Types: deb deb-src/' $sources
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    ninja-build meson libglib2.0-dev libpixman-1-dev pkg-config flex bison dpkg-dev python3-venv >&2
  (cd "$cache" && apt-get source -qq qemu >&2)
  src=$(find "$cache" -maxdepth 2 -name configure -path "$cache/qemu-*/configure" | head -n 1)
  src=${src%/configure}
  build=$src/build
}

# build configures QEMU once, puts the harness into its tests/unit (with a
# line in tests/unit/meson.build that links it like test-aio-multithread)
# and builds the three programs; ninja rebuilds only what changed.
build_qemu() {
  [ -n "$src" ] || fetch
  if [ ! -f "$build/build.ninja" ]; then
    say "configuring $src (a few minutes on 2 cores with the build)"
    (cd "$src" && PATH=/usr/bin:$PATH ./configure --target-list= --without-default-features \
      --enable-tools --disable-docs --disable-debug-info >&2)
  fi
  if ! cmp -s peers/qemu/handoff.c "$src/tests/unit/pinbench-handoff.c"; then
    cp peers/qemu/handoff.c "$src/tests/unit/pinbench-handoff.c"
  fi
  if ! grep -q pinbench-handoff "$src/tests/unit/meson.build"; then
    cat >>"$src/tests/unit/meson.build" <<'EOF'

# pinbench's harness (scripts/peer-qemu.sh): linked as test-aio-multithread is.
executable('pinbench-handoff', files('pinbench-handoff.c'), genh, dependencies: [qemuutil, testblock])
EOF
  fi
  PATH=/usr/bin:$PATH ninja -C "$build" tests/unit/test-aio-multithread tests/unit/test-coroutine \
    tests/unit/pinbench-handoff >&2
}

# places prints "class cpuA,cpuB" for every placement class this machine
# has, innermost first, from pinbench's own topology discovery.
places() {
  go run ./cmd/pinbench topology --json | python3 -c '
import json, sys
p = json.load(sys.stdin).get("placements") or {}
for c in ("samecpu", "smt", "l2", "llc", "node", "remote"):
    if c in p:
        print(c, "%d,%d" % tuple(p[c]))'
}

# failures lists the QEMU runs that failed (peer_run), one line each.
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT

# peer_run runs one of QEMU's programs. A run that fails loses only the
# results it had not printed yet: it is named on stderr and in failures,
# the rounds go on, and the script exits 1 at the end.
peer_run() {
  local rc=0
  "$@" || rc=$?
  if [ "$rc" != 0 ]; then
    say "FAILED (exit status $rc): $*; the results it printed before stay"
    echo "$*" >>"$failures"
  fi
}

# report_failures exits 1, naming them, when any QEMU run failed.
report_failures() {
  [ -s "$failures" ] || return 0
  say "$(wc -l <"$failures") QEMU run(s) failed:"
  sed 's/^/peer-qemu:   /' "$failures" >&2
  exit 1
}

# qemu_handoff: the harness at every class and unpinned; busy polling is
# skipped where pinbench skips it (one CPU, or unpinned on fewer than 3).
qemu_handoff() {
  places | while read -r class pair; do
    waits=poll,adaptive,block
    [ "$class" = samecpu ] && waits=adaptive,block
    peer_run "$build/tests/unit/pinbench-handoff" -c "$pair" -p "$class" -w $waits
  done
  waits=poll,adaptive,block
  [ "$(nproc)" -lt 3 ] && waits=adaptive,block
  peer_run "$build/tests/unit/pinbench-handoff" -p unpinned -w $waits
}

# qemu_coroutine: test-coroutine's yield (one op: enter+yield) and
# lifecycle (one op: create, enter, terminate), as pinbench's op=switch
# and op=lifecycle.
qemu_coroutine() {
  peer_run "$build/tests/unit/test-coroutine" --verbose -m perf -p /perf/yield -p /perf/lifecycle |
    awk '/^# (Yield|Lifecycle) [0-9]+ iterations:/ {
      op = $2 == "Yield" ? "switch" : "lifecycle"
      printf "BenchmarkCoroutine/op=%s/impl=qemu \t%.0f\t%.3f ns/op\n", op, $3, $5 * 1e9 / $3
    }'
}

# qemu_mutex: test-aio-multithread's mutex tests (quick mode: 1 s each, the
# handoff test 3 s); QEMU logs iterations per second before each "ok".
qemu_mutex() {
  peer_run "$build/tests/unit/test-aio-multithread" --verbose -p /aio/multi/mutex |
    awk '/^# [0-9]+ iterations\/second/ {its = $2; next}
      /^ok [0-9]+ \/aio\/multi\/mutex\// && its > 0 {
        n = split($3, p, "/"); t = p[n]; secs = 1; ctxs = 5; lock = "comutex"
        if (t == "handoff") { ctxs = 2; secs = 3 }
        if (t == "mcs") lock = "mcs"
        if (t == "pthread") lock = "sync"
        printf "BenchmarkMutex/lock=%s/impl=qemu/contexts=%d/place=unpinned \t%.0f\t%.3f ns/op\t%.0f ops/s\n", lock, ctxs, its * secs, 1e9 / its, its
        its = 0
      }'
}

# pinbench: the matching Go benchmarks, one run each, named to line up.
pinbench() {
  "$tmp/bench.test" -test.run '^$' -test.bench "$1" -test.count 1 |
    sed -E 's#^BenchmarkHandoff/via=aio/#BenchmarkHandoff/impl=pinbench/#; s#^BenchmarkMutex/impl=([a-z]+)/#BenchmarkMutex/lock=\1/impl=pinbench/#; s#^(Benchmark[^[:space:]]*)-[0-9]+([[:space:]])#\1\2#'
}

case $mode in
build)
  build_qemu
  exit 0
  ;;
smoke)
  if [ ! -f "${build:-/nonexistent}/build.ninja" ]; then
    say "no cached QEMU build in $cache: smoke skipped (scripts/peer-qemu.sh --build makes one)"
    exit 0
  fi
  build_qemu
  lines=$("$build/tests/unit/pinbench-handoff" -w adaptive,block -t 0.05 -n 20000)
  echo "$lines"
  if [ "$(echo "$lines" | grep -cE '^BenchmarkHandoff/impl=qemu/wait=(adaptive|block)/place=unpinned[[:space:]]+[0-9]+[[:space:]]+[0-9.]+ ns/op[[:space:]]+[0-9.]+ cpu-ns/op$')" != 2 ]; then
    say "smoke: the harness did not print two handoff results"
    exit 1
  fi
  exit 0
  ;;
print)
  build_qemu
  for _ in $(seq "$rounds"); do
    qemu_handoff
    qemu_coroutine
    qemu_mutex
  done
  report_failures
  exit 0
  ;;
esac

build_qemu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$failures"' EXIT
go test -c -o "$tmp/bench.test" ./bench
mkdir -p "$(dirname "$out")"
# Every result carries the same configuration lines, QEMU's included (a
# result under other lines would land in a table of its own): the qemu
# line, then the Go benchmarks' lines, which each later Go run repeats.
{
  echo "qemu: $(basename "$src")"
  "$tmp/bench.test" -test.run '^$' -test.bench 'Coroutine/op=switch/impl=pull' -test.benchtime 1x |
    grep -E '^[a-z][a-z0-9-]*: '
} >"$out"
start=$(date +%s)
for r in $(seq "$rounds"); do
  say "round $r of $rounds ($(($(date +%s) - start)) s so far)"
  for family in handoff coroutine mutex; do
    case $family in
    handoff) q=qemu_handoff g='Handoff/via=aio/wait=/^(pin=cpu|place=unpinned)$' ;;
    coroutine) q=qemu_coroutine g='Coroutine' ;;
    mutex) q=qemu_mutex g='Mutex/impl=/contexts=/place=unpinned' ;;
    esac
    # Alternate who goes first, so that drift within a round favours
    # neither side.
    if [ $((r % 2)) = 1 ]; then
      $q >>"$out"
      pinbench "$g" >>"$out"
    else
      pinbench "$g" >>"$out"
      $q >>"$out"
    fi
  done
done
say "done in $(($(date +%s) - start)) s; raw results in $out"
for f in Handoff Coroutine Mutex; do
  echo
  echo "## $f"
  go tool benchstat -filter ".name:$f" -col /impl "$out"
done
report_failures
