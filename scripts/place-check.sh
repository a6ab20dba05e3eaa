#!/usr/bin/env bash
# place-check.sh: checks what `pinbench place` emits against the real tools
# (issue 22):
#   1. QEMU accepts the emitted -object iothread options: a QEMU with no
#      guest (-machine none -S) answers QMP query-iothreads with the
#      emitted poll-max-ns, poll-grow and poll-shrink; the emitted pinning
#      step (taskset -pc, with each iothread's QMP thread-id) pins those
#      threads, as /proc/PID/task/TID/status Cpus_allowed_list shows.
#   2. The taskset format pins real threads (the same QEMU's iothreads)
#      and real processes (taskset -c CPU sleep), checked in /proc.
#   3. The libvirt XML for libvirt 9.0 (Debian 12's), wrapped in a
#      minimal domain, validates against libvirt's own schema
#      (virt-xml-validate FILE domain). The newest form, with <poll> in
#      <iothreadids> (libvirt 9.4 and later), is beyond that schema: it is
#      checked by a typed round-trip in place/emit_libvirt_test.go, and
#      here only shown to be rejected by the 9.0 schema.
# It installs what is missing (qemu-system-x86, libvirt-clients and
# libxml2-utils, whose xmllint virt-xml-validate runs) from Debian with
# --no-install-recommends, and exits 3 with one line when it
# cannot, or when this process may not run on CPUs 0 and 1. PINBENCH names a pinbench binary to use; by default it builds
# ./cmd/pinbench. The plans come from committed results: the 2-CPU VM's
# (CPUs 0-1, so that the pins apply on any machine with CPUs 0 and 1) and
# the big16 lab guest's (for the libvirt XML only).
set -euo pipefail
cd "$(dirname "$0")/.."

small=results/amd-epyc-2c2t-vm-7c0fcb/latest
big=lab/results/big16/quick
start=$SECONDS
checks=0

ok() {
	checks=$((checks + 1))
	echo "ok: $*"
}

fail() {
	echo "place-check: FAIL: $*" >&2
	exit 1
}

# install_missing installs the Debian packages whose commands are missing.
install_missing() {
	local pkgs=()
	command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
	command -v virt-xml-validate >/dev/null || pkgs+=(libvirt-clients)
	command -v xmllint >/dev/null || pkgs+=(libxml2-utils) # virt-xml-validate runs it; only recommended
	command -v taskset >/dev/null || pkgs+=(util-linux)
	((${#pkgs[@]} == 0)) && return 0
	local sudo=()
	((EUID == 0)) || sudo=(sudo -n)
	if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >/tmp/place-check-apt.log 2>&1; then
		echo "place-check: cannot install ${pkgs[*]} (see /tmp/place-check-apt.log): skipped" >&2
		exit 3
	fi
}

tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

install_missing
pb=${PINBENCH:-}
if [[ -z $pb ]]; then
	go build -o "$tmp/pinbench" ./cmd/pinbench
	pb=$tmp/pinbench
fi
if [[ $(taskset -c 0,1 true 2>&1) != "" ]]; then
	echo "place-check: the plans' threads go on CPUs 0 and 1, and this process may run on $(taskset -pc $$ | sed 's/.*: //') only: skipped" >&2
	exit 3
fi

# qmp_send LINE sends a QMP command to the running QEMU; qmp_reply reads
# until its answer ({"return" or {"error"}) and prints it.
qmp_send() { printf '%s\n' "$1" >&"${QEMU[1]}"; }
qmp_reply() {
	local line
	while read -r -t 10 line <&"${QEMU[0]}"; do
		case $line in
		'{"return"'* | '{"error"'*)
			printf '%s\n' "$line"
			return 0
			;;
		esac
	done
	fail "QEMU gave no QMP answer in 10 s: $(cat "$tmp/qemu.err")"
}

# iothread_field JSON ID KEY prints KEY of iothread ID in a query-iothreads answer.
iothread_field() {
	printf '%s\n' "${1//'}, {'/$'}\n{'}" | grep "\"id\": \"$2\"" | grep -o "\"$3\": [0-9]*" | awk '{print $2}'
}

# check_allowed PATH CPUS checks the Cpus_allowed_list of a /proc status file.
check_allowed() {
	local got
	got=$(awk '/^Cpus_allowed_list:/ {print $2}' "$1")
	[[ $got == "$2" ]] || fail "$1: Cpus_allowed_list $got, want $2"
}

# check_qemu NAME PLAN-FLAGS...: the qemu format's options in a real QEMU,
# then its pinning step and the taskset format's thread lines on QEMU's
# iothreads.
check_qemu() {
	local name=$1
	shift
	"$pb" place --results "$small" "$@" --format qemu >"$tmp/$name.qemu"
	"$pb" place --results "$small" "$@" --format taskset >"$tmp/$name.taskset"
	local objects=()
	mapfile -t objects < <(grep '^-object iothread,' "$tmp/$name.qemu")
	((${#objects[@]} > 0)) || fail "$name: no -object iothread line in the qemu format"
	local args=() o
	for o in "${objects[@]}"; do
		args+=(-object "${o#-object }")
	done
	coproc QEMU { exec qemu-system-x86_64 -machine none -nodefaults -display none -S -qmp stdio "${args[@]}" 2>"$tmp/qemu.err"; }
	local qpid=$QEMU_PID
	pids+=("$qpid")
	qmp_send '{"execute": "qmp_capabilities"}'
	qmp_reply >/dev/null
	qmp_send '{"execute": "query-iothreads"}'
	local answer
	answer=$(qmp_reply)
	[[ $answer == '{"return": ['* ]] || fail "$name: query-iothreads: $answer"
	local kv id key want got
	for o in "${objects[@]}"; do
		id=${o#*,id=}
		id=${id%%,*}
		for kv in $(tr ',' ' ' <<<"${o#-object iothread,}"); do
			key=${kv%%=*} want=${kv#*=}
			[[ $key == id ]] && continue
			got=$(iothread_field "$answer" "$id" "$key")
			[[ $got == "$want" ]] || fail "$name: QEMU reports $key=$got for $id; the plan emitted $want"
		done
	done
	ok "$name: QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') took ${#objects[@]} iothreads; query-iothreads reports the emitted poll-max-ns, poll-grow, poll-shrink"
	pin_lines "$name" "$qpid" "$answer" 's/TID_io\([0-9]*\)/\1/' "$tmp/$name.qemu" "qemu pinning step"
	pin_lines "$name" "$qpid" "$answer" 's/TID_t\([0-9]*\)/\1/' "$tmp/$name.taskset" "taskset format, threads"
	qmp_send '{"execute": "quit"}'
	wait "$qpid" || true
}

# pin_lines NAME QPID ANSWER SED FILE WHAT runs FILE's "taskset -pc CPUS
# TID_..." lines with each placeholder's iothread index (SED extracts it)
# replaced by that iothread's QMP thread-id, and checks /proc.
pin_lines() {
	local name=$1 qpid=$2 answer=$3 extract=$4 file=$5 what=$6 line cpus holder k tid cmd n=0
	while read -r line; do
		cpus=$(awk '{print $3}' <<<"$line")
		holder=$(awk '{print $4}' <<<"$line")
		k=$(sed "$extract" <<<"$holder")
		tid=$(iothread_field "$answer" "io$k" thread-id)
		[[ -n $tid ]] || fail "$name: no thread-id for io$k in $answer"
		# Move the thread off its CPUs first, so the check sees the line work.
		taskset -pc "$(other_cpu "$cpus")" "$tid" >/dev/null
		cmd=${line%%#*}
		eval "${cmd/$holder/$tid}" >/dev/null
		check_allowed "/proc/$qpid/task/$tid/status" "$cpus"
		n=$((n + 1))
	done < <(grep '^taskset -pc ' "$file")
	((n > 0)) || fail "$name: no taskset -pc line in $file"
	ok "$name: $what: $n taskset -pc lines pinned QEMU's iothreads (Cpus_allowed_list in /proc/$qpid/task/TID/status)"
}

# other_cpu CPUS prints CPU 0 or 1, whichever CPUS is not ("0-1" when it
# names both), so that a pin test starts from another set.
other_cpu() {
	case $1 in
	0) echo 1 ;;
	1) echo 0 ;;
	*) echo 0-1 ;;
	esac
}

# check_processes: the taskset format's per-process lines start real
# processes with their CPUs.
check_processes() {
	"$pb" place --results "$small" --threads 2 --pattern ring --wait adaptive --format taskset --command "sleep 30" >"$tmp/proc.taskset"
	local line cpus pid n=0 i
	while read -r line; do
		cpus=$(awk '{print $3}' <<<"$line")
		eval "${line%%#*} &"
		pid=$!
		pids+=("$pid")
		for ((i = 0; i < 200; i++)); do # taskset execs sleep once the CPUs are set
			[[ $(cat "/proc/$pid/comm" 2>/dev/null) == sleep ]] && break
			sleep 0.01
		done
		check_allowed "/proc/$pid/status" "$cpus"
		kill "$pid"
		n=$((n + 1))
	done < <(grep '^taskset -c ' "$tmp/proc.taskset")
	((n == 2)) || fail "taskset format: $n process lines, want 2"
	ok "taskset format, processes: $n 'taskset -c CPU sleep 30' lines ran with their CPUs (Cpus_allowed_list in /proc/PID/status)"
}

# wrap_domain FRAGMENT-FILE OUT writes a minimal complete domain holding
# the emitted elements (the XML before the virsh lines).
wrap_domain() {
	{
		echo "<domain type='kvm'>"
		echo "  <name>pinbench-place-check</name>"
		echo "  <memory unit='MiB'>64</memory>"
		echo "  <vcpu placement='static'>4</vcpu>"
		sed '/^#/,$d' "$1"
		echo "  <os><type arch='x86_64' machine='pc'>hvm</type></os>"
		echo "</domain>"
	} >"$2"
}

# check_libvirt NAME PLAN-FLAGS...: the libvirt 9.0 form validates against
# the installed libvirt's domain schema.
check_libvirt() {
	local name=$1
	shift
	"$pb" place --results "$big" "$@" --format libvirt --libvirt-version 9.0 >"$tmp/$name.libvirt"
	wrap_domain "$tmp/$name.libvirt" "$tmp/$name.xml"
	virt-xml-validate "$tmp/$name.xml" domain >"$tmp/$name.validate" 2>&1 || fail "$name: virt-xml-validate: $(cat "$tmp/$name.validate")"
	# The schema check can fail: a misspelt attribute is refused.
	sed 's/<iothreadpin iothread=/<iothreadpin thread=/' "$tmp/$name.xml" >"$tmp/$name.bad.xml"
	! virt-xml-validate "$tmp/$name.bad.xml" domain >/dev/null 2>&1 || fail "$name: virt-xml-validate accepts <iothreadpin thread=...>: the check proves nothing"
	ok "$name: the libvirt 9.0 XML ($(grep -c '<' "$tmp/$name.libvirt") elements and comments) validates in a domain: virt-xml-validate FILE domain"
}

# check_libvirt_newest: the newest form carries <poll>, which libvirt 9.0's
# schema does not know.
check_libvirt_newest() {
	"$pb" place --results "$big" --threads 4 --pattern ring --wait adaptive --format libvirt >"$tmp/newest.libvirt"
	grep -q '<poll max=' "$tmp/newest.libvirt" || fail "the newest libvirt form has no <poll>"
	wrap_domain "$tmp/newest.libvirt" "$tmp/newest.xml"
	if virt-xml-validate "$tmp/newest.xml" domain >/dev/null 2>&1; then
		ok "newest libvirt form: this libvirt's schema ($(virsh --version 2>/dev/null || echo unknown)) accepts <poll> too"
	else
		ok "newest libvirt form: rejected by this libvirt's schema ($(virsh --version 2>/dev/null || echo unknown)), which predates <poll>, as expected; go test ./place -run TestLibvirtNewestRoundTrip checks it"
	fi
}

check_qemu pairs2-adaptive --threads 2 --pattern pairs --wait adaptive
check_qemu ring4-block-shared --threads 4 --pattern ring --wait block --share
check_processes
check_libvirt pairs4-vcpus2 --threads 4 --pattern pairs --wait adaptive --vcpus 2
check_libvirt ring8 --threads 8 --pattern ring --wait block
check_libvirt_newest
echo "place-check: $checks checks passed in $((SECONDS - start)) s"
