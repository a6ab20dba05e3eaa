#!/usr/bin/env bash
# The topology lab: boots a Linux guest under QEMU (TCG) with a declared
# topology and runs pinbench inside it: `pinbench topology --json`, the
# whole benchmark suite at -benchtime 1x, every package's tests and, with
# --tune, a short tuning run (the flags of lab.TuneFlags). Then it checks
# the outputs against the declaration (labctl, of the lab's own Go module
# in lab/). Timings from the lab are emulated and mean nothing.
#
# usage: scripts/lab.sh [--tune] [--plan-check|--plan-check-full] [--arch amd64|arm64] [--step-limit S] [--time-limit S] PRESET|custom OUTDIR [-- QEMU-ARGS...]
#
# --plan-check runs `pinbench tune --plan` in the guest, then a real
# quick-mode tune (OUTDIR/plan.txt, OUTDIR/quick/), and fails unless the
# quick tune took within 2x of the plan's estimate either way.
# --plan-check-full does the same with a full-mode tune (OUTDIR/full/);
# its steps' default time limit is eight times the usual, as a full tune
# runs several times as long as a quick one.
#
# Presets: (cd lab && go run ./labctl args PRESET) prints their arguments;
# see docs/lab.md. Guests are amd64 PCs (qemu-system-x86_64) except l2, an
# arm64 guest on QEMU's virt board (qemu-system-aarch64), the one machine
# whose cores QEMU 7.2 can group into clusters. `custom` takes the topology
# as raw QEMU arguments after --, e.g. -- -smp 4,sockets=2,cores=2 (-cpu
# defaults to Skylake-Server, -m to 1024M, -accel to tcg,thread=single);
# `--arch arm64` (or -M virt among them) makes it an arm64 virt guest, e.g.
# --arch arm64 custom OUTDIR -- -smp 8,sockets=2,clusters=2,cores=2 (-cpu
# then defaults to cortex-a57). After a preset, QEMU-ARGS are appended to
# its own.
#
# Exit status: 0 when every check passed; 1 when the guest booted but
# something failed (a test, a benchmark, a stall, a step or the whole run
# past its time limit, outputs that do not match the declaration); 2 for a
# bad command line; 3 when the lab cannot run here (QEMU or busybox cannot
# be installed, the kernel cannot be fetched, or QEMU cannot boot it; for
# an arm64 guest also when Debian's arm64 packages cannot be had).
# Progress goes to stderr; the guest's console to OUTDIR/console.log.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf 'lab: %s\n' "$*" >&2; }
unavailable() { say "unavailable: $*"; exit 3; }
die() { say "FAIL: $*"; exit 1; }
usage() {
  echo "usage: scripts/lab.sh [--tune] [--plan-check|--plan-check-full] [--arch amd64|arm64] [--step-limit SECONDS] [--time-limit SECONDS] PRESET|custom OUTDIR [-- QEMU-ARGS...]" >&2
  exit 2
}

tune=0
plan_check=0
plan_mode=quick
arch=""
step_limit=""
time_limit=""
while [ $# -gt 0 ]; do
  case $1 in
    --tune) tune=1; shift ;;
    --plan-check) plan_check=1; shift ;;
    --plan-check-full) plan_check=1; plan_mode=full; shift ;;
    --arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
    --step-limit) step_limit=${2:?--step-limit needs seconds}; shift 2 ;;
    --time-limit) time_limit=${2:?--time-limit needs seconds}; shift 2 ;;
    -h|--help) usage ;;
    -*) say "unknown option $1"; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
preset=$1 outdir=$2
shift 2
if [ $# -gt 0 ]; then
  [ "$1" = "--" ] || { say "unexpected argument $1 (QEMU arguments go after --)"; usage; }
  shift
fi
extra=("$@")

export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive
command -v go >/dev/null || die "Go is not installed (expected /usr/local/go)"
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pinbench-lab.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The helper: presets, initramfs, checks (the lab module, lab/).
(cd lab && go build -o "$work/labctl" ./labctl)

# The guest's QEMU arguments, and what booting it takes (labctl guest:
# arch, qemu, qemu_package, machine, cpu, kernel_package, append, modules).
has_arg() { printf '%s\n' "${args[@]}" | grep -qxE -- "$1"; }
guest_info() { # guest_info [-arch ARCH]: set g_KEY for each of labctl guest's lines
  local info k v
  info=$("$work/labctl" guest "$@" -- "${args[@]}") || exit 2
  while IFS='=' read -r k v; do printf -v "g_$k" '%s' "$v"; done <<<"$info"
}
if [ "$preset" = custom ]; then
  [ ${#extra[@]} -gt 0 ] || { say "custom needs QEMU arguments after --"; usage; }
  args=("${extra[@]}")
  guest_info ${arch:+-arch "$arch"}
  has_arg '-cpu' || args=(-cpu "$g_cpu" "${args[@]}")
  [ -z "$g_machine" ] || has_arg '-M|-machine|--machine' || args=(-M "$g_machine" "${args[@]}")
  has_arg '-m' || args+=(-m 1024M)
else
  preset_args=$("$work/labctl" args "$preset") || exit 2
  mapfile -t args <<<"$preset_args"
  args+=("${extra[@]}")
  guest_info
  [ -z "$arch" ] || [ "$arch" = "$g_arch" ] || { say "preset $preset is an $g_arch guest (--arch $arch is for custom)"; usage; }
fi
printf '%s\n' "${args[@]}" | grep -qx -- '-accel' || args=(-accel tcg,thread=single "${args[@]}")
decl=$("$work/labctl" describe -- "${args[@]}") || exit 2
say "$preset: $decl"
ncpu=$(sed -n 's/^\([0-9]*\) CPUs.*/\1/p' <<<"$decl")

# Time limits: a step (one test binary, the smoke run, the tune run) and
# the whole guest run; more vCPUs on the same host cores run slower.
step_factor=1
[ "$plan_mode" = full ] && step_factor=8
: "${step_limit:=$(( (300 + 60 * ncpu) * step_factor ))}"
: "${time_limit:=$(( 3 * step_limit + tune * step_limit + 2 * plan_check * step_limit ))}"

# An amd64 guest on an amd64 host uses the host's static busybox; a guest
# of another architecture (arm64) takes Debian's busybox-static and kernel
# of its architecture, which needs that architecture added to dpkg
# (dpkg --add-architecture, then apt-get update) to download them.
native=$(dpkg --print-architecture 2>/dev/null || echo amd64)
foreign=0
[ "$g_arch" = "$native" ] || foreign=1
apt_name() { if [ "$foreign" = 1 ]; then echo "$1:$g_arch"; else echo "$1"; fi; }
foreign_index() { # make apt know the guest architecture's packages (root only)
  [ "$foreign" = 1 ] && [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null || return 0
  dpkg --print-foreign-architectures | grep -qx "$g_arch" && return 0
  say "adding the $g_arch architecture to dpkg, for its kernel and busybox ($(elapsed))"
  dpkg --add-architecture "$g_arch" && apt-get update -qq >/dev/null 2>&1 || true
}

# QEMU and, for an amd64 guest, a static busybox, from Debian's packages
# when missing.
static_busybox() { [ -x /bin/busybox ] && { LC_ALL=C ldd /bin/busybox 2>&1 || true; } | grep -q "not a dynamic"; }
host_busybox() { [ "$foreign" = 1 ] || static_busybox; }
host_pkgs=("$g_qemu_package")
[ "$foreign" = 1 ] || host_pkgs+=(busybox-static)
if ! command -v "$g_qemu" >/dev/null || ! host_busybox; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $(sed 's/ / and /' <<<"${host_pkgs[*]}") ($(elapsed))"
    { apt-get install -y -qq --no-install-recommends "${host_pkgs[@]}" >"$work/apt.log" 2>&1 ||
      { apt-get update -qq >>"$work/apt.log" 2>&1 &&
        apt-get install -y -qq --no-install-recommends "${host_pkgs[@]}" >>"$work/apt.log" 2>&1; }; } ||
      unavailable "apt-get install ${host_pkgs[*]} failed: $(tail -1 "$work/apt.log")"
  else
    unavailable "$g_qemu$([ "$foreign" = 1 ] || echo " or a static /bin/busybox") is missing, and this user cannot apt-get install ${host_pkgs[*]}"
  fi
  command -v "$g_qemu" >/dev/null || unavailable "$g_qemu not found after installing $g_qemu_package"
  host_busybox || unavailable "/bin/busybox is not a static binary after installing busybox-static"
fi

# The guest kernel: Debian's cloud kernel, unpacked (not installed) into a
# cache reused between runs, with the modules the guest loads.
cache=${PINBENCH_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pinbench-lab}
mkdir -p "$cache"
# unpack PACKAGE: apt-get download PACKAGE (its apt name) and dpkg -x it
# into $dl/x; the caller moves what it keeps and removes $dl.
unpack() {
  dl="$cache/.download.$$"
  rm -rf "$dl" && mkdir -p "$dl" && chmod 777 "$dl"
  (cd "$dl" && apt-get download -qq "$(apt_name "$1")" >"$work/download.log" 2>&1) ||
    { rm -rf "$dl"; unavailable "apt-get download $(apt_name "$1") failed: $(tail -1 "$work/download.log")"; }
  dpkg -x "$dl"/*.deb "$dl/x" || { rm -rf "$dl"; unavailable "dpkg -x of $1 failed"; }
}
kernel_pkg() { apt-cache depends "$(apt_name "$g_kernel_package")" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {sub(/:.*/, "", $2); print $2; exit}'; }
foreign_index
pkg=$(kernel_pkg || true)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(kernel_pkg || true)
fi
if [ -z "$pkg" ]; then
  # No package index: use whatever kernel the cache holds.
  pkg=$(cd "$cache" && ls -d linux-image-*-cloud-"$g_arch" 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$pkg" ] || unavailable "apt-cache knows no $(apt_name "$g_kernel_package") and the cache $cache holds no kernel"
fi
kernel_cached() {
  kernel=$(ls "$cache/$pkg"/boot/vmlinuz-* 2>/dev/null | head -1 || true)
  [ -n "$kernel" ] || return 1
  local m
  for m in $g_modules; do [ -f "$cache/$pkg/modules/${m##*/}" ] || return 1; done
}
if ! kernel_cached; then
  say "fetching $(apt_name "$pkg") into $cache ($(elapsed))"
  unpack "$pkg"
  rm -rf "${cache:?}/$pkg" && mkdir -p "$cache/$pkg" && mv "$dl/x/boot" "$cache/$pkg/" ||
    { rm -rf "$dl"; unavailable "$pkg holds no boot/"; }
  if [ -n "$g_modules" ]; then
    mkdir -p "$cache/$pkg/modules"
    for m in $g_modules; do
      cp "$dl"/x/lib/modules/*/kernel/"$m" "$cache/$pkg/modules/" ||
        { rm -rf "$dl" "${cache:?}/$pkg"; unavailable "$pkg holds no module $m"; }
    done
  fi
  rm -rf "$dl"
  kernel_cached || unavailable "$pkg: no kernel in $cache/$pkg/boot after unpacking it"
fi
modules_flag=()
[ -z "$g_modules" ] || modules_flag=(-modules "$cache/$pkg/modules")

# The guest's busybox: the host's for a native guest, else Debian's
# busybox-static of the guest's architecture, unpacked into the cache.
busybox=/bin/busybox
if [ "$foreign" = 1 ]; then
  busybox="$cache/busybox-static-$g_arch/bin/busybox"
  if [ ! -x "$busybox" ]; then
    say "fetching $(apt_name busybox-static) into $cache ($(elapsed))"
    unpack busybox-static
    rm -rf "${cache:?}/busybox-static-$g_arch" && mkdir -p "$cache/busybox-static-$g_arch/bin" &&
      mv "$dl/x/bin/busybox" "$busybox" || { rm -rf "$dl"; unavailable "$(apt_name busybox-static) holds no bin/busybox"; }
    rm -rf "$dl"
  fi
fi

# The binaries: static pinbench, and each package's test binary.
say "building pinbench and the test binaries ($(elapsed))"
export CGO_ENABLED=0 GOARCH=$g_arch
go build -o "$work/pinbench" ./cmd/pinbench
(cd lab && go build -o "$work/labctl-guest" ./labctl)
mkdir -p "$work/tests"
: >"$work/tests.tsv"
while read -r imp dir; do
  rel=${dir#"$repo"/}
  bin="$work/tests/$(tr / _ <<<"$rel").test"
  go test -c -o "$bin" "$imp"
  printf '%s\t%s\t%s\n' "$imp" "$rel" "$bin" >>"$work/tests.tsv"
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' ./...)
unset CGO_ENABLED GOARCH
shared=""
[ -d "$repo/../shared/topologies" ] && shared="$repo/../shared/topologies"
tune_flag=()
[ "$tune" = 1 ] && tune_flag=(-tune)
[ "$plan_check" = 1 ] && tune_flag+=(-plan-check "$plan_mode")
# The guest scales the suite's stall timeouts by how much slower it runs
# the speed probe than this host (labctl speed; lab.StallScale).
host_speed=$("$work/labctl" speed)
"$work/labctl" initramfs -out "$work/initrd.cpio" -busybox "$busybox" -pinbench "$work/pinbench" \
  -labctl "$work/labctl-guest" -host-speed "$host_speed" \
  -repo "$repo" ${shared:+-shared "$shared"} -tests "$work/tests.tsv" "${tune_flag[@]}" -arch "$g_arch" "${modules_flag[@]}" \
  -step "$step_limit" -total "$time_limit"

mkdir -p "$outdir"
rm -rf "${outdir:?}/tune" "$outdir/quick" "$outdir/full" "$outdir/plan.txt" "$outdir/status" "$outdir/smoke.txt" "$outdir/tests.txt" "$outdir/topology.json"
# The results channel: a second serial port on a PC; a virtio console on
# arm64's virt board, whose one UART is the console.
case $g_arch in
  amd64) results=(-serial "file:$work/results.serial") ;;
  *) results=(-device virtio-serial-device -chardev "file,id=res,path=$work/results.serial" -device virtconsole,chardev=res) ;;
esac
say "booting the guest: $g_qemu ${args[*]} (steps ${step_limit}s each, run ${time_limit}s; $(elapsed))"
qemu_rc=0
timeout -k 10 $(( time_limit + 120 )) "$g_qemu" -nodefaults -no-reboot -display none \
  -kernel "$kernel" -initrd "$work/initrd.cpio" -append "$g_append" \
  -serial stdio "${results[@]}" "${args[@]}" </dev/null >"$outdir/console.log" 2>&1 &
qemu_pid=$!
# Show the guest's progress lines while it runs.
tail -n +1 -F --pid=$qemu_pid "$outdir/console.log" 2>/dev/null | grep --line-buffered -E '^lab: |Kernel panic|soft lockup|qemu-system' | grep --line-buffered -v "TCG doesn't support requested feature" | sed -u 's/^/guest| /' >&2 &
tail_pid=$!
wait $qemu_pid || qemu_rc=$?
wait $tail_pid 2>/dev/null || true
say "guest stopped (qemu exit $qemu_rc, $(elapsed))"

if ! grep -q 'Linux version' "$outdir/console.log"; then
  unavailable "QEMU did not boot the kernel (exit $qemu_rc): $(grep -m1 -i 'qemu\|error' "$outdir/console.log" || tail -1 "$outdir/console.log")"
fi
grep -q '^lab: guest up' "$outdir/console.log" || die "the kernel booted but the lab's /init never ran (see $outdir/console.log)"
[ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ] && die "the guest outlived its time limit ($(( time_limit + 120 ))s): QEMU killed (see $outdir/console.log)"
if ! grep -q "PINBENCH-LAB-END" "$work/results.serial" 2>/dev/null; then
  die "the guest sent no results (qemu exit $qemu_rc; see $outdir/console.log)"
fi
sed -n '/PINBENCH-LAB-BEGIN/,/PINBENCH-LAB-END/p' "$work/results.serial" | sed '1d;$d' | tr -d '\r' | base64 -d | tar -xzf - -C "$outdir" ||
  die "the guest's results did not decode"
cat >"$outdir/EMULATED.md" <<NOTE
# Emulated: these timings mean nothing

This folder is a topology-lab run (\`scripts/lab.sh $preset\`): pinbench ran in
a Linux guest under QEMU's TCG emulator, with a topology QEMU declared
($decl). QEMU arguments: \`${args[*]}\`.

What it shows: discovery, placement classes, pinning, skips, the watchdog and
the tuning run on a real kernel's sysfs and scheduler. What it does not: any
cost. Every vCPU is emulated on the host's cores, so the ns/op figures here
say nothing about any machine.
NOTE

say "checking the outputs against the declaration ($(elapsed))"
check_flags=()
[ "$tune" = 1 ] && check_flags=(-tune -place)
[ "$plan_check" = 1 ] && check_flags+=(-plan-check "$plan_mode")
if ! "$work/labctl" check -dir "$outdir" "${check_flags[@]}" -- "${args[@]}" >&2; then
  die "$preset: the lab run failed its checks ($outdir)"
fi
say "$preset: passed in $(elapsed); outputs in $outdir"
