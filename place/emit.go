package place

import (
	"fmt"
	"io"
	"strconv"

	"github.com/pinbench/pinbench/affinity"
)

// The output formats of Emit.
const (
	FormatText    = "text"    // the plan for a reader: placement, costs, baselines, model
	FormatJSON    = "json"    // Document, schema pinbench.place/v1
	FormatTaskset = "taskset" // taskset command lines per thread
	FormatNumactl = "numactl" // numactl command lines per thread and per process
	FormatSystemd = "systemd" // a unit drop-in: CPUAffinity=, NUMAPolicy=/NUMAMask=
	FormatLibvirt = "libvirt" // domain XML (iothreads, cputune) and virsh lines
	FormatQEMU    = "qemu"    // -object iothread options and the pinning step
)

// Formats returns the format names Emit accepts.
func Formats() []string {
	return []string{FormatText, FormatJSON, FormatTaskset, FormatNumactl, FormatSystemd, FormatLibvirt, FormatQEMU}
}

// EmitOptions tunes the emitters. The zero value is usable.
type EmitOptions struct {
	// LibvirtVersion is the libvirt the XML is for ("9.0", "10.0.0");
	// "" means the newest. Before 9.4, <iothreadids> carries no <poll>
	// and the poll settings go through virsh iothreadset only.
	LibvirtVersion string
	// VCPUs, for a pairs plan in the libvirt and qemu formats, makes the
	// second thread of each of the first VCPUs pairs a vCPU (pair k:
	// iothread t(2k), vCPU k = t(2k+1)); the other threads are
	// iothreads. 0: every thread is an iothread.
	VCPUs int
	// Domain is the libvirt domain for virsh lines (default "DOMAIN").
	Domain string
	// Unit is the systemd unit the drop-in is for (default
	// "SERVICE.service").
	Unit string
	// Command is the command the taskset and numactl lines start
	// (default "COMMAND").
	Command string
}

// Emit writes d in format. An unknown format, and options that do not
// fit the plan (vCPUs for a plan that is not pairs, a malformed libvirt
// version), are errors naming them.
func Emit(w io.Writer, d *Document, format string, o EmitOptions) error {
	if err := d.check(); err != nil {
		return fmt.Errorf("place: plan: %w", err)
	}
	switch format {
	case FormatText:
		return emitText(w, d)
	case FormatJSON:
		return d.Encode(w)
	case FormatTaskset:
		return emitTaskset(w, d, o)
	case FormatNumactl:
		return emitNumactl(w, d, o)
	case FormatSystemd:
		return emitSystemd(w, d, o)
	case FormatLibvirt:
		return emitLibvirt(w, d, o)
	case FormatQEMU:
		return emitQEMU(w, d, o)
	}
	return fmt.Errorf("place: unknown format %q (want one of %v)", format, Formats())
}

// Document returns the plan's JSON form.
func (p *Plan) Document() *Document {
	d := &Document{Schema: Schema, Machine: p.Machine, Results: p.Dir, Wait: string(p.Wait),
		PollMaxNs: p.PollMaxNs, PollNote: p.PollNote, Solver: p.Solver, Usable: p.Usable.String(),
		Workload: DocWorkload{Pattern: p.Workload.Pattern, Threads: len(p.Workload.Threads)}}
	for i, name := range p.Workload.Threads {
		d.Threads = append(d.Threads, DocThread{Name: name, CPUs: strconv.Itoa(p.CPUs[i]), Node: p.Nodes[i]})
	}
	d.Predicted.TotalNs = Ns(p.TotalNs)
	d.Predicted.Edges = []DocEdge{}
	for _, e := range p.Edges {
		d.Predicted.Edges = append(d.Predicted.Edges, DocEdge{From: p.Workload.Threads[e.From], To: p.Workload.Threads[e.To],
			Weight: e.Weight, Undirected: e.Undirected, Ns: Ns(e.Ns), TotalNs: Ns(e.TotalNs)})
	}
	d.Predicted.Baselines = []DocBaseline{}
	for _, b := range p.Baselines {
		db := DocBaseline{Name: b.Name, CPUs: []string{}, TotalNs: Ns(b.TotalNs), Note: b.Note}
		for _, c := range b.CPUs {
			db.CPUs = append(db.CPUs, strconv.Itoa(c))
		}
		d.Predicted.Baselines = append(d.Predicted.Baselines, db)
	}
	d.Model = []DocClass{}
	for _, in := range p.Inputs {
		d.Model = append(d.Model, DocClass{Class: string(in.Class), HandoffNs: Ns(in.HandoffNs), Samples: in.Samples,
			CostNs: Ns(in.CostNs), From: string(in.From), MatrixMedianNs: Ns(in.MatrixMedianNs), Cells: in.Cells})
	}
	for _, m := range p.Measured {
		d.Measured = append(d.Measured, DocMeasured{Placement: m.Placement, NsPerRound: Ns(m.NsPerRound), Note: m.Note})
	}
	if v := p.Verified; v != nil {
		d.Verified = &DocVerified{Rounds: v.Rounds, Verdict: v.Verdict, Sentences: v.Sentences, Error: v.Error}
		if v.RunTime > 0 {
			d.Verified.RunTime = v.RunTime.String()
		}
	}
	return d
}

// allCPUs returns the union of the threads' CPU lists (checked by
// Document.check).
func (d *Document) allCPUs() affinity.CPUSet {
	var all affinity.CPUSet
	for _, t := range d.Threads {
		set, _ := affinity.ParseList(t.CPUs)
		all = all.Union(set)
	}
	return all
}

// singleNode returns the node all threads are on, false when they span
// several or one has none.
func (d *Document) singleNode() (int, bool) {
	n := d.Threads[0].Node
	for _, t := range d.Threads {
		if t.Node != n || t.Node < 0 {
			return -1, false
		}
	}
	return n, true
}

// headline is the one-line summary the text emitters put first.
func (d *Document) headline() string {
	machine := d.Machine
	if machine == "" {
		machine = "the machine"
	}
	return fmt.Sprintf("pinbench place: %d threads (%s), wait=%s, on %s (results %s): predicted %s ns per round",
		len(d.Threads), d.Workload.Pattern, d.Wait, machine, d.Results, fmtNs(float64(d.Predicted.TotalNs)))
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
