package place

import (
	"github.com/pinbench/pinbench/affinity"
)

// Plan is a placement: a CPU for each thread, what the model predicts it
// costs, what the baselines cost under the same model, and everything a
// reader needs to check it (the model's inputs, the wait mode, the
// solver's method) or apply it (poll-max-ns; see the emitters).
type Plan struct {
	// Machine is the run's machine id; Dir its results folder.
	Machine, Dir string
	// Workload is what was placed.
	Workload *Workload
	// Wait is the wait mode the model costs.
	Wait Wait
	// CPUs[i] is thread i's CPU.
	CPUs []int
	// Nodes[i] is the NUMA node of CPUs[i] (-1 when no node lists it).
	Nodes []int
	// Usable is the set the plan chose from (after the constraints).
	Usable affinity.CPUSet
	// Edges is the predicted cost of each edge, in Workload.Edges order.
	Edges []EdgeCost
	// TotalNs is the predicted cost of one round: the sum of
	// Edges[i].TotalNs.
	TotalNs float64
	// Baselines are compact, spread and unpinned under the same model.
	Baselines []Baseline
	// Inputs are the model's inputs (Model.Inputs).
	Inputs []ClassInput
	// PollMaxNs is the poll window to configure (QEMU's poll-max-ns);
	// PollNote says where it comes from.
	PollMaxNs int64
	PollNote  string
	// Solver says how the placement was found and whether it is proved
	// optimal for the model.
	Solver string
	// Measured holds measured costs when a verification ran (the CLI's
	// --verify fills it); nil otherwise.
	Measured []Measured
}

// EdgeCost is the predicted cost of one edge.
type EdgeCost struct {
	Edge
	// Ns is the modelled one-way handoff between the two CPUs (the mean
	// of both directions for an undirected edge).
	Ns float64
	// TotalNs is what the edge costs per round: Weight x Ns, twice that
	// for an undirected edge (a handoff each way).
	TotalNs float64
}

// Measured is a measured cost of a placement, as a verification run
// reports it.
type Measured struct {
	// Placement is "plan" or a baseline's name.
	Placement string
	// NsPerRound is the measured median cost of one round of the
	// workload, comparable to Plan.TotalNs.
	NsPerRound float64
	// Note says anything a reader needs (samples, p-value, ...).
	Note string
}

// Options tunes NewPlan: the constraints on where threads go.
type Options struct {
	Constraints
}

// NewPlan places wl's threads on the CPUs the constraints leave, as the
// model costs them, and costs the baselines. The workload is validated;
// the errors of Constraints and of a model that cannot cost a pair name
// what is wrong.
func NewPlan(m *Model, wl *Workload, o Options) (*Plan, error) {
	if err := wl.Validate(); err != nil {
		return nil, err
	}
	s, err := o.resolve(m, len(wl.Threads))
	if err != nil {
		return nil, err
	}
	p, err := newProblem(m, wl, s)
	if err != nil {
		return nil, err
	}
	topo := m.Topology()
	p.orders = [][]int{s.positions(compactOrder(topo, s.set)), s.positions(spreadOrder(topo, s.set))}
	sol := p.solve()
	plan := &Plan{Machine: m.Results().Machine, Dir: m.Results().Dir, Workload: wl, Wait: m.Wait(),
		Usable: s.set, Inputs: m.Inputs(), Solver: sol.method}
	for _, x := range sol.pos {
		plan.CPUs = append(plan.CPUs, s.cpus[x])
	}
	plan.Nodes = nodesOf(topo, plan.CPUs)
	plan.Edges, plan.TotalNs = edgeCosts(m, wl, plan.CPUs)
	plan.Baselines = baselines(m, wl, s)
	plan.PollMaxNs, plan.PollNote = pollMax(m)
	return plan, nil
}

// nodesOf returns the NUMA node of each CPU.
func nodesOf(topo *affinity.Topology, cpus []int) []int {
	out := make([]int, len(cpus))
	for i, c := range cpus {
		info, _ := topo.CPU(c)
		out[i] = info.Node
	}
	return out
}

// edgeCosts returns the cost of each edge of wl with threads on cpus, and
// their sum.
func edgeCosts(m *Model, wl *Workload, cpus []int) ([]EdgeCost, float64) {
	out := make([]EdgeCost, len(wl.Edges))
	total := 0.0
	for i, e := range wl.Edges {
		a, b := cpus[e.From], cpus[e.To]
		ec := EdgeCost{Edge: e, Ns: m.Cost(a, b)}
		ec.TotalNs = e.Weight * ec.Ns
		if e.Undirected {
			back := m.Cost(b, a)
			ec.Ns = (ec.Ns + back) / 2
			ec.TotalNs = 2 * e.Weight * ec.Ns
		}
		out[i] = ec
		total += ec.TotalNs
	}
	return out, total
}

// Baseline returns the baseline called name, and false when there is none.
func (p *Plan) Baseline(name string) (Baseline, bool) {
	for _, b := range p.Baselines {
		if b.Name == name {
			return b, true
		}
	}
	return Baseline{}, false
}
