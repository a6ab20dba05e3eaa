package place

import (
	"fmt"
	"math"

	"github.com/pinbench/pinbench/affinity"
)

// Baseline is a placement people use without measuring, costed with the
// same model as the plan so that the two compare.
type Baseline struct {
	// Name is BaselineCompact, BaselineSpread or BaselineUnpinned.
	Name string
	// CPUs[i] is thread i's CPU; nil for unpinned.
	CPUs []int
	// TotalNs is the predicted cost of one round; NaN when the model
	// cannot cost it (Note says why).
	TotalNs float64
	// Note says how the baseline was built or why it has no cost.
	Note string
}

// The baselines.
const (
	// BaselineCompact fills CPUs in topology order: package, node, core,
	// then each core's hardware threads (as taskset ranges over adjacent
	// numbering and hwloc-distrib --single tend to).
	BaselineCompact = "compact"
	// BaselineSpread deals CPUs round-robin over packages, then nodes,
	// last-level caches and cores, as hwloc-distrib does.
	BaselineSpread = "spread"
	// BaselineUnpinned leaves placement to the OS: every handoff costs
	// the run's unpinned figure.
	BaselineUnpinned = "unpinned"
)

// baselines costs the three baselines on the usable CPUs of s. Compact
// and spread take the first CPUs of their order, one thread per CPU
// (wrapping round when CPUs are shared and threads outnumber them); they
// ignore the SMT rule, as the tools they stand for do.
func baselines(m *Model, wl *Workload, s *space) []Baseline {
	topo := m.Topology()
	out := []Baseline{
		orderBaseline(m, wl, BaselineCompact, compactOrder(topo, s.set), "first CPUs in topology order (package, node, core, thread)"),
		orderBaseline(m, wl, BaselineSpread, spreadOrder(topo, s.set), "CPUs round-robin over packages, nodes, last-level caches, cores"),
	}
	return append(out, unpinnedBaseline(m, wl))
}

// orderBaseline places thread i on order[i mod len(order)].
func orderBaseline(m *Model, wl *Workload, name string, order []int, note string) Baseline {
	b := Baseline{Name: name, CPUs: make([]int, len(wl.Threads)), Note: note}
	for i := range b.CPUs {
		b.CPUs[i] = order[i%len(order)]
	}
	_, b.TotalNs = edgeCosts(m, wl, b.CPUs)
	if math.IsNaN(b.TotalNs) {
		b.Note += fmt.Sprintf("; threads share CPUs and the run has no samecpu figure for wait=%s", m.Wait())
	}
	return b
}

// unpinnedBaseline costs every handoff at the unpinned figure.
func unpinnedBaseline(m *Model, wl *Workload) Baseline {
	b := Baseline{Name: BaselineUnpinned, TotalNs: math.NaN()}
	fig, ok := m.ClassNs(affinity.Unpinned)
	if !ok {
		b.Note = fmt.Sprintf("no cost: the run has no unpinned figure for wait=%s", m.Wait())
		return b
	}
	b.TotalNs = handoffsPerRound(wl) * fig
	b.Note = fmt.Sprintf("every handoff at the unpinned figure, %s ns", fmtNs(fig))
	return b
}
