#!/usr/bin/env bash
# Tests deploy/slurm/pinbench.sbatch against a real single-node Slurm
# (Debian 12's packages: munge, slurmctld, slurmd, slurm-client, Slurm
# 22.05), started on this machine without systemd:
#
#  1. installs the packages when they are missing (root, apt-get,
#     --no-install-recommends; a temporary /usr/sbin/policy-rc.d keeps
#     their postinst scripts from starting daemons);
#  2. writes a localhost slurm.conf (proctrack/linuxproc, task/affinity,
#     select/cons_tres with CR_Core, no accounting, the node line from
#     `slurmd -C`), starts munged on a private socket, slurmctld and
#     slurmd, and waits until sinfo shows the node idle;
#  3. builds pinbench into a scratch folder and submits the shipped batch
#     script with a tiny benchmark filter (sbatch --wait): a complete
#     results folder must come back, for the whole node (no -cpus suffix,
#     no partial-machine warning);
#  4. submits it again confined to one CPU (--oversubscribe
#     --cpus-per-task=1, overriding the script's --exclusive): the folder
#     name must end in -cpusLIST and the report must warn that the run saw
#     part of the machine;
#  5. `pinbench compare` must read the two runs;
#  6. on exit, cancels what is left of the jobs, stops exactly the daemons
#     it started, removes the policy-rc.d it made and its scratch folder.
#
# usage: scripts/slurm-check.sh
#   SLURM_CHECK_PORT  slurmctld's port (default 6817); slurmd uses the next
#
# Exit status: 0 when every check passed; 1 when one failed (the daemons'
# and jobs' logs are printed first); 3, with one line, when Slurm cannot
# run here (the packages are missing and cannot be installed). Progress
# goes to stderr, each line with the time. Takes well under 3 minutes once
# the packages are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

t0=$(date +%s)
say() { printf '%s slurm-check: %s\n' "$(date +%T)" "$*" >&2; }
unavailable() {
  say "unavailable: $*"
  exit 3
}
die() {
  say "FAIL: $*"
  exit 1
}

# The tiny run: two rounds of two iterations of a few benchmarks and a
# one-repetition matrix (cmd/pinbench's tests use the same).
tiny=(--count 2 --benchtime 2x --matrix-reps 1 --matrix-transfers 200
  --bench 'Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place')
# A complete run; the latency matrix and its heat map only where the run
# had two CPUs or more.
run_files=(report.md bench.txt topology.json)
matrix_files=(matrix.csv matrix-samples.csv heatmap.svg heatmap.png)
partial_warning="saw only part of the machine (CPUs "

ctl_port=${SLURM_CHECK_PORT:-6817}
case $ctl_port in '' | *[!0-9]*) die "SLURM_CHECK_PORT=$ctl_port is not a port number" ;; esac
d_port=$((ctl_port + 1))

# State for the exit trap: what this run made and started.
scratch=""
made_policy=""
declare -A pid=()
stop_order=(slurmd slurmctld munged)

# stop NAME: SIGTERM to the daemon this script started, up to 15 s for it
# to exit, then SIGKILL.
stop() {
  local p=${pid[$1]:-}
  [ -n "$p" ] || return 0
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 150); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
      say "$1 (pid $p) did not stop within 15 s of SIGTERM: SIGKILL"
      kill -KILL "$p" 2>/dev/null || true
    fi
  fi
  wait "$p" 2>/dev/null || true
  unset "pid[$1]"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "${pid[slurmctld]:-}" ] && kill -0 "${pid[slurmctld]}" 2>/dev/null; then
    local jobs=()
    mapfile -t jobs < <(timeout 10 squeue -h -o %i 2>/dev/null)
    if [ "${#jobs[@]}" -gt 0 ]; then
      say "cancelling jobs left: ${jobs[*]}"
      timeout 10 scancel "${jobs[@]}"
      for _ in $(seq 60); do
        [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  # Each job step's slurmstepd keeps a socket in the spool folder until
  # it has ended: up to 15 s for them to go before slurmd is stopped.
  if [ -n "$scratch" ] && [ -d "$scratch/spool" ]; then
    for _ in $(seq 75); do
      [ -z "$(find "$scratch/spool" -maxdepth 1 -type s -name '*_*.*' 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  if [ "$rc" != 0 ] && [ "$rc" != 3 ] && [ -n "$scratch" ]; then
    for f in "$scratch"/log/*; do
      # The daemons write their log file and the same lines on stderr.
      [ -s "$f" ] && ! [ -e "${f%.out}.log" ] || continue
      printf '\n--- %s (last 30 lines)\n' "${f#"$scratch"/}" >&2
      tail -n 30 "$f" >&2
    done
  fi
  for d in "${stop_order[@]}"; do stop "$d"; done
  # A job's slurmstepd leaves slurmd by a double fork: once ended, PID 1
  # reaps it, shortly. Up to 5 s for that, so that the check leaves no
  # process behind, not even a zombie (nothing else runs Slurm here).
  if [ -n "$scratch" ]; then
    for _ in $(seq 25); do
      pgrep -x slurmstepd >/dev/null || break
      sleep 0.2
    done
  fi
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ -z "$scratch" ] || rm -rf -- "$scratch"
  [ "$rc" = 3 ] || say "$([ "$rc" = 0 ] && echo "passed" || echo "exit $rc") in $(($(date +%s) - t0)) s; daemons stopped, scratch folder removed"
  exit "$rc"
}
trap cleanup EXIT
trap 'die "interrupted by a signal"' INT TERM

# wait_for DESCRIPTION SECONDS COMMAND...: runs COMMAND every 0.2 s until
# it succeeds; fails naming DESCRIPTION after SECONDS.
wait_for() {
  local what=$1 limit=$2
  shift 2
  local end=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "$what: not within $limit s"
    sleep 0.2
  done
}

# 1. The packages.
commands=(munged munge unmunge slurmctld slurmd sbatch sinfo squeue scancel)
missing=()
for c in "${commands[@]}"; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ "${#missing[@]}" -gt 0 ]; then
  packages=(munge slurmctld slurmd slurm-client)
  [ "$(id -u)" = 0 ] || unavailable "${missing[*]} missing, and only root can apt-get install ${packages[*]}"
  command -v apt-get >/dev/null || unavailable "${missing[*]} missing, and there is no apt-get to install ${packages[*]}"
  say "installing ${packages[*]} (missing: ${missing[*]})"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    made_policy=1
    printf '#!/bin/sh\n# slurm-check.sh: no daemons from postinst scripts\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  apt_log=$(mktemp)
  apt_install() { DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${packages[@]}" >>"$apt_log" 2>&1; }
  if ! apt_install && ! { timeout 300 apt-get update -qq >>"$apt_log" 2>&1 && apt_install; }; then
    why=$(grep -v '^\s*$' "$apt_log" | tail -n 1)
    rm -f "$apt_log"
    unavailable "apt-get install ${packages[*]} failed: ${why:-no output}"
  fi
  rm -f "$apt_log"
  if [ -n "$made_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
    made_policy=""
  fi
  for c in "${commands[@]}"; do
    command -v "$c" >/dev/null || unavailable "$c is still missing after installing ${packages[*]}"
  done
fi
command -v go >/dev/null || die "no go command to build pinbench (expected /usr/local/go/bin)"
say "$(slurmd -V 2>&1 | head -n 1), $(munged -V 2>&1 | head -n 1)"

# 2. The scratch folder, the configuration and the daemons. munged
# refuses a socket under a folder that is not world-executable (mktemp
# makes it 0700), and a Unix socket path has at most about 100 bytes.
scratch=$(mktemp -d /tmp/slurm-check.XXXXXX)
chmod 755 "$scratch"
mkdir -p "$scratch"/{munge,key,state,spool,run,log,results}
chmod 755 "$scratch/munge"
chmod 700 "$scratch/key"
sock=$scratch/munge/munge.sock
[ "${#sock}" -lt 100 ] || die "munge socket path $sock is too long for a Unix socket"

for p in "$ctl_port" "$d_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p on 127.0.0.1 is in use (another Slurm?); set SLURM_CHECK_PORT to a free pair"
  fi
done

say "building pinbench into $scratch"
CGO_ENABLED=0 go build -o "$scratch/pinbench" ./cmd/pinbench || die "go build ./cmd/pinbench failed"

dd if=/dev/urandom of="$scratch/key/munge.key" bs=1024 count=1 status=none
chmod 400 "$scratch/key/munge.key"

host=$(uname -n)
host=${host%%.*}
node_line=$(slurmd -C 2>/dev/null | grep '^NodeName=' | sed 's/ *UpTime=.*//') ||
  die "slurmd -C printed no NodeName line"
[ -n "$node_line" ] || die "slurmd -C printed no NodeName line"
conf=$scratch/slurm.conf
cat >"$conf" <<EOF
# Written by scripts/slurm-check.sh: a single-node Slurm on localhost.
ClusterName=pinbenchcheck
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MailProg=$(type -P true)
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/run/slurmctld.pid
SlurmdPidFile=$scratch/run/slurmd.pid
SlurmctldLogFile=$scratch/log/slurmctld.log
SlurmdLogFile=$scratch/log/slurmd.log
$node_line
PartitionName=check Nodes=ALL Default=YES MaxTime=10 State=UP
EOF
export SLURM_CONF=$conf
say "node: $node_line"

# start NAME COMMAND...: the daemon in the foreground of a session of
# its own, its pid recorded for the exit trap.
start() {
  local name=$1
  shift
  setsid nohup "$@" >"$scratch/log/$name.out" 2>&1 </dev/null &
  pid[$name]=$!
  # setsid and nohup exec the daemon: the pid becomes its own.
  local comm=""
  for _ in $(seq 20); do
    kill -0 "${pid[$name]}" 2>/dev/null || die "$name exited at once: $(tail -n 1 "$scratch/log/$name.out")"
    comm=$(cat "/proc/${pid[$name]}/comm" 2>/dev/null || true)
    [ "$comm" != "$name" ] || return 0
    sleep 0.1
  done
  die "pid ${pid[$name]} is $comm after 2 s, not $name"
}

start munged munged -F --socket="$sock" --key-file="$scratch/key/munge.key" \
  --pid-file="$scratch/run/munged.pid" --log-file="$scratch/log/munged.log" \
  --seed-file="$scratch/key/munged.seed"
munge_ok() { munge -n -S "$sock" | unmunge -S "$sock"; }
wait_for "munged answering on $sock" 10 munge_ok
start slurmctld slurmctld -D -f "$conf"
wait_for "slurmctld answering" 20 scontrol ping
start slurmd slurmd -D -f "$conf"
node_idle() { [ "$(sinfo -h -N -o %T)" = idle ]; }
wait_for "sinfo showing the node idle" 30 node_idle
say "munged, slurmctld and slurmd up (pids ${pid[munged]}, ${pid[slurmctld]}, ${pid[slurmd]}); node $host idle"

# 3, 4. The jobs. submit NAME SBATCH-OPTIONS...: the shipped script with
# the tiny run, waited for (at most job_limit s here; Slurm's own limit is 5
# minutes); sets job to its id.
export PINBENCH_RESULTS=$scratch/results PINBENCH_BIN=$scratch/pinbench
job_limit=120
submit() {
  local name=$1
  shift
  local out rc=0
  out=$(timeout "$job_limit" sbatch --parsable --wait --chdir="$scratch" --time=5 --job-name="pinbench-$name" \
    --output="$scratch/log/job-$name.out" "$@" "$repo/deploy/slurm/pinbench.sbatch" "${tiny[@]}" 2>"$scratch/log/sbatch-$name.err") || rc=$?
  [ "$rc" != 124 ] || die "job $name did not end within $job_limit s"
  [ "$rc" = 0 ] || die "sbatch --wait for job $name: exit $rc: $(tail -n 1 "$scratch/log/sbatch-$name.err")"
  job=${out%%$'\n'*}
}

# check_run FOLDER FILE...: a complete run folder, with these files.
check_run() {
  local dir=$1 f
  shift
  for f in "$@"; do
    [ -s "$dir/$f" ] || die "$dir has no $f (or it is empty): $(ls -A "$dir" | tr '\n' ' ')"
  done
  grep -q '^Benchmark' "$dir/bench.txt" || die "$dir/bench.txt holds no benchmark results"
  grep -q '^# ' "$dir/report.md" || die "$dir/report.md has no title"
}

# the_run: sets id_dir to the one machine-id folder and run to the name
# of the run its latest link points at.
the_run() {
  local ids=("$scratch"/results/*/)
  [ "${#ids[@]}" = 1 ] && [ -d "${ids[0]}" ] || die "results/ holds ${#ids[@]} machine folders, want 1: $(ls -A "$scratch/results" | tr '\n' ' ')"
  id_dir=${ids[0]%/}
  [ -L "$id_dir/latest" ] || die "$id_dir/latest is not a symbolic link"
  run=$(readlink "$id_dir/latest")
}

say "job 1: the whole node (the script's --exclusive)"
submit whole
the_run
whole=$run
say "job $job ended; run folder $(basename "$id_dir")/$whole"
check_run "$id_dir/$whole" "${run_files[@]}" "${matrix_files[@]}"
[[ $whole =~ ^[0-9]{8}T[0-9]{6}Z-quick$ ]] || die "whole-node run folder $whole: want <UTC time>-quick, without -cpus"
! grep -qF "$partial_warning" "$id_dir/$whole/report.md" || die "the whole-node run's report warns that it saw part of the machine"
grep -q "run complete: $id_dir/$whole" "$scratch/log/job-whole.out" || die "the job's log does not say where the run went"

say "job 2: one CPU of the node (--oversubscribe --cpus-per-task=1)"
submit part --oversubscribe --cpus-per-task=1
the_run
part=$run
say "job $job ended; run folder $(basename "$id_dir")/$part"
check_run "$id_dir/$part" "${run_files[@]}"
grep -q 'no latency matrix' "$scratch/log/job-part.out" || die "the one-CPU job measured a latency matrix"
[[ $part =~ ^[0-9]{8}T[0-9]{6}Z-quick-cpus([0-9]+)$ ]] || die "one-CPU run folder $part: want <UTC time>-quick-cpusN"
cpu=${BASH_REMATCH[1]}
grep -qF "${partial_warning}$cpu of" "$id_dir/$part/report.md" ||
  die "the one-CPU run's report.md does not warn that it saw part of the machine (\"${partial_warning}$cpu of ...\")"
grep -q "CPUs $cpu allowed, 1 of" "$scratch/log/job-part.out" || die "the one-CPU job's log does not show it confined to CPU $cpu"
left=$(find "$scratch/results" -mindepth 1 -maxdepth 1 -name '.job-*')
[ -z "$left" ] || die "the jobs left their working folders: $left"

# 5. compare reads both.
say "pinbench compare on the two runs"
"$scratch/pinbench" compare "$id_dir/$whole" "$id_dir/$part" >"$scratch/log/compare.out" 2>&1 ||
  die "pinbench compare failed: $(tail -n 1 "$scratch/log/compare.out")"
grep -q "$whole" "$scratch/log/compare.out" && grep -q "$part" "$scratch/log/compare.out" ||
  die "pinbench compare's tables do not name both runs"
grep -q 'place' "$scratch/log/compare.out" || die "pinbench compare printed no placement-class table"
say "all checks passed: $whole (whole node) and $part (one CPU), compared"
