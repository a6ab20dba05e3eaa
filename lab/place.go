package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// placeScript is the guest's place step (lab.sh --tune), run after the
// tuning run: it plans a ring of threads over the guest's CPUs from that
// run (`pinbench place`), pins real threads with the taskset lines it
// emits and records what each thread's /proc status then says, and runs
// `place --verify` end to end (behaviour only: emulated timings mean
// nothing). checkPlace reads what it writes.
const placeScript = `#!/bin/busybox sh
n=$(nproc)
[ "$n" -gt 8 ] && n=8
[ "$n" -lt 2 ] && n=2
place="pinbench place --results /out/tune --threads $n --pattern ring"
$place --format taskset > /out/place-taskset.txt 2> /out/place.err || exit 1
: > /out/place-pins.txt
grep '^taskset -pc ' /out/place-taskset.txt | while read -r _ _ cpus tid; do
	sleep 300 &
	pid=$!
	if taskset -pc "$cpus" "$pid" > /dev/null 2>> /out/place.err; then
		got=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$pid/task/$pid/status")
	else
		got="taskset-failed"
	fi
	echo "${tid#TID_} want $cpus got $got" >> /out/place-pins.txt
	kill "$pid"
done
$place --verify --rounds 2 --round-time 20ms > /out/place-verify.txt 2>> /out/place.err
`

// PlaceFiles are what the place step writes into the outputs.
var PlaceFiles = []string{"place-taskset.txt", "place-pins.txt", "place-verify.txt"}

// checkPlace holds the place step's outputs in dir to what it should have
// done: a thread line emitted per thread, each pinned thread's allowed
// CPUs what its taskset line asked for, and a verify run that compared
// the plan with its baselines.
func checkPlace(r *CheckResult, dir string) {
	for _, f := range PlaceFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			r.problem("place: %s missing or empty (see place.err)", f)
			return
		}
	}
	pins, _ := os.ReadFile(filepath.Join(dir, "place-pins.txt"))
	lines := strings.Split(strings.TrimSpace(string(pins)), "\n")
	for _, l := range lines {
		var thread, want, got string
		if n, _ := fmt.Sscanf(l, "%s want %s got %s", &thread, &want, &got); n != 3 || want != got {
			r.problem("place: taskset did not pin as emitted: %q", l)
		}
	}
	if len(lines) < 2 {
		r.problem("place: %d threads pinned, want at least 2", len(lines))
	}
	verify, _ := os.ReadFile(filepath.Join(dir, "place-verify.txt"))
	if !strings.Contains(string(verify), "predicted order") {
		r.problem("place: place-verify.txt has no comparison of the predicted and measured order")
	}
	r.note("place: %d threads pinned by the emitted taskset lines as planned; --verify compared the plan with its baselines", len(lines))
}
