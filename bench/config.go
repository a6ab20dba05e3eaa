package bench

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/perfcount"
)

// ConfigLine is one `key: value` line of Go's benchmark format, printed
// before the results so that a results file says where it came from.
type ConfigLine struct {
	Key, Value string
}

// Config returns the configuration lines describing this machine and run:
// machine id, cpu model, topology summary, the CPU pair used for each
// placement class, the node sets of pin=node, hypervisor, frequency governor, SMT, cache line size,
// GOMAXPROCS, the allowed CPU set, and whether software counters work.
// (`go test` itself prints goos, goarch, pkg and cpu.)
func Config(t *affinity.Topology) []ConfigLine {
	lines := []ConfigLine{
		{"machine", t.MachineID()},
		{"model", t.Model},
		{"topology", t.Summary()},
	}
	pairs := t.Placements()
	for _, c := range affinity.Classes() {
		if p, ok := pairs[c]; ok {
			lines = append(lines, ConfigLine{"pair-" + string(c), fmt.Sprintf("%d,%d", p.A, p.B)})
		}
	}
	lines = append(lines, ConfigLine{"pin-node", nodeNote(t)})
	if len(t.Warnings) > 0 {
		lines = append(lines, ConfigLine{"topology-warnings", strings.Join(t.Warnings, "; ")})
	}
	hv := t.Hypervisor()
	if hv == "" {
		hv = "none"
	}
	perf := "software counters available"
	if err := perfcount.Unavailable(); err != nil {
		perf = "unavailable: " + err.Error()
	} else if err := perfcount.HardwareUnavailable(); err != nil {
		perf += "; hardware counters unavailable: " + err.Error()
	} else {
		perf += "; hardware counters available"
	}
	lines = append(lines,
		ConfigLine{"hypervisor", hv},
		ConfigLine{"governor", t.Governor()},
		ConfigLine{"smt", t.SMTState()},
		ConfigLine{"cacheline", fmt.Sprint(t.Identity.CacheLine)},
		ConfigLine{"gomaxprocs", fmt.Sprint(runtime.GOMAXPROCS(0))},
		ConfigLine{"allowed", t.Allowed.String()},
		ConfigLine{"online", t.Online.String()},
		ConfigLine{"perf", perf},
	)
	return lines
}

// FormatConfig renders lines in Go's benchmark format. Values are put on
// one line (benchfmt ends a value at the newline).
func FormatConfig(lines []ConfigLine) string {
	var b strings.Builder
	for _, l := range lines {
		v := strings.ReplaceAll(l.Value, "\n", " ")
		fmt.Fprintf(&b, "%s: %s\n", l.Key, v)
	}
	return b.String()
}
