package place

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// emitTaskset writes taskset lines: each thread of a running process
// pinned by its thread id, or one process per thread started pinned.
func emitTaskset(w io.Writer, d *Document, o EmitOptions) error {
	bw := bufio.NewWriter(w)
	comment(bw, d.headline())
	comment(bw, "Threads of a running process: replace TID_<thread> with each thread's id (ls /proc/PID/task).")
	for _, t := range d.Threads {
		fmt.Fprintf(bw, "taskset -pc %s TID_%s\n", t.CPUs, t.Name)
	}
	comment(bw, "Or one process per thread:")
	cmd := or(o.Command, "COMMAND")
	for _, t := range d.Threads {
		fmt.Fprintf(bw, "taskset -c %s %s  # %s\n", t.CPUs, cmd, t.Name)
	}
	return bw.Flush()
}

// emitNumactl writes numactl lines: one process per thread, bound to its
// CPUs and its node's memory, or one process for all threads (bound to
// one node's memory only when the plan stays within one node).
func emitNumactl(w io.Writer, d *Document, o EmitOptions) error {
	bw := bufio.NewWriter(w)
	cmd := or(o.Command, "COMMAND")
	comment(bw, d.headline())
	comment(bw, "One process per thread, on its CPU, memory from its node:")
	for _, t := range d.Threads {
		mem := ""
		if t.Node >= 0 {
			mem = fmt.Sprintf(" --membind=%d", t.Node)
		}
		fmt.Fprintf(bw, "numactl --physcpubind=%s%s %s  # %s\n", t.CPUs, mem, cmd, t.Name)
	}
	comment(bw, "Or one process holding every thread (then pin each thread to its CPU inside it; as the taskset format writes):")
	if node, ok := d.singleNode(); ok {
		fmt.Fprintf(bw, "numactl --physcpubind=%s --membind=%d %s\n", d.allCPUs(), node, cmd)
	} else {
		comment(bw, "the threads span NUMA nodes: no --membind (memory follows first touch)")
		fmt.Fprintf(bw, "numactl --physcpubind=%s %s\n", d.allCPUs(), cmd)
	}
	return bw.Flush()
}

// emitSystemd writes a unit drop-in pinning the service's process to the
// plan's CPUs, and binding its memory to the node when the plan stays
// within one.
func emitSystemd(w io.Writer, d *Document, o EmitOptions) error {
	unit := or(o.Unit, "SERVICE.service")
	if !unitName.MatchString(unit) {
		return fmt.Errorf("place: systemd unit name %q: want letters, digits and :_.@- only", unit)
	}
	if !strings.Contains(unit, ".") {
		unit += ".service"
	}
	bw := bufio.NewWriter(w)
	comment(bw, fmt.Sprintf("/etc/systemd/system/%s.d/pinbench-place.conf", unit))
	comment(bw, d.headline())
	comment(bw, "systemd pins the whole process; pin each thread to its CPU inside it:")
	for _, t := range d.Threads {
		comment(bw, fmt.Sprintf("  %s -> CPU %s", t.Name, t.CPUs))
	}
	fmt.Fprintln(bw, "[Service]")
	fmt.Fprintf(bw, "CPUAffinity=%s\n", d.allCPUs())
	if node, ok := d.singleNode(); ok {
		fmt.Fprintf(bw, "NUMAPolicy=bind\nNUMAMask=%d\n", node)
	} else {
		comment(bw, "The threads span NUMA nodes: no NUMAPolicy= (memory follows first touch).")
	}
	return bw.Flush()
}

// unitName is what a systemd unit name given to the systemd format may
// hold.
var unitName = regexp.MustCompile(`^[A-Za-z0-9:_.@-]{1,255}$`)

// comment writes s as a shell comment, one line however s is made.
func comment(w io.Writer, s string) {
	fmt.Fprintf(w, "# %s\n", oneLine(s))
}

// oneLine replaces control characters with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// shellWord quotes s for a POSIX shell unless it is plain.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// plainWord is a word a shell takes as it is.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:+@%=,-]+$`)
