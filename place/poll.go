package place

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pinbench/pinbench/report"
)

// QEMUDefaultPollMaxNs is QEMU's default iothread poll-max-ns: the
// longest busy-wait before sleeping, in ns.
const QEMUDefaultPollMaxNs = 32768

// pollMax returns the poll window for the plan's iothreads and a note on
// where it comes from:
//
//   - wait=block: 0, polling off (QEMU sleeps at once with poll-max-ns=0),
//     which is what the model costed;
//   - a poll-window sweep in the run (tune --full) whose recommendation
//     names a window: that window;
//   - otherwise QEMU's default, with a note saying why.
func pollMax(m *Model) (int64, string) {
	res := m.Results()
	if m.Wait() == WaitBlock {
		return 0, "wait=block: polling off (poll-max-ns=0 makes QEMU sleep at once)"
	}
	if !hasSweep(res.Run) {
		return QEMUDefaultPollMaxNs, fmt.Sprintf("QEMU's default: %s has no poll-window sweep (pinbench tune --full runs one)", res.Dir)
	}
	for _, rec := range report.Recommend(res.Run, report.Thresholds{}) {
		if rec.Topic != report.TopicWindow {
			continue
		}
		if ns, ok := parseWindow(rec.Choice); ok {
			return ns, "from the poll-window sweep: " + rec.Summary
		}
		return QEMUDefaultPollMaxNs, "QEMU's default: the poll-window sweep names no window. " + rec.Summary
	}
	return QEMUDefaultPollMaxNs, "QEMU's default: the poll-window sweep gave no recommendation"
}

// hasSweep reports whether run holds poll-window sweep results
// (BenchmarkHandoff/.../pollmax=W/...).
func hasSweep(run *report.Run) bool {
	for _, r := range run.Results {
		if nameKey(r.Name, "pollmax") != "" {
			return true
		}
	}
	return false
}

// parseWindow reads a poll-window choice, "pollmax=32us", as ns.
func parseWindow(choice string) (int64, bool) {
	v, ok := strings.CutPrefix(choice, "pollmax=")
	if !ok {
		return 0, false
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		ns     int64
	}{{"ns", 1}, {"us", 1000}, {"ms", 1000_000}} {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = s, u.ns
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return 0, false
	}
	return n * mult, true
}
