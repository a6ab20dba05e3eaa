package place

import (
	"fmt"

	"github.com/pinbench/pinbench/affinity"
)

// Constraints limit where threads may go.
//
//   - CPUs is the set to place on; empty means the run's allowed CPUs
//     (Results.Allowed). CPUs outside the topology, or outside the run's
//     allowed set, are an error naming them.
//   - Reserve is taken out of that set (CPUs kept for the system); CPUs
//     outside the topology are an error.
//   - At most one thread per CPU, unless Share. Sharing a CPU costs the
//     run's samecpu figure, so the solver shares only where that is
//     cheaper; Share without a samecpu figure for the wait mode is an
//     error.
//   - With a busy-polling wait mode (poll, adaptive), two threads never
//     sit on different SMT siblings of one core (they would spin against
//     each other on one core's execution units), unless the run measured
//     smt cheaper than every other class the machine has.
//
// More threads than the CPUs (or, under the SMT rule, the cores) can
// take is an error saying how many there are.
type Constraints struct {
	CPUs    affinity.CPUSet
	Reserve affinity.CPUSet
	Share   bool
}

// space is the resolved search space: the usable CPUs and the rules on
// them.
type space struct {
	// cpus are the usable CPUs in canonical order (see canonicalOrder).
	cpus []int
	// core[i] is the core index (Topology.Cores) of cpus[i].
	core []int
	// paths[i] is the topology path of cpus[i].
	paths [][levels]int
	// share lets several threads use one CPU.
	share bool
	// oneSMT forbids two threads on different CPUs of one core.
	oneSMT bool
	// set is cpus as a set.
	set affinity.CPUSet
}

// resolve checks c against the model's machine and run and returns the
// space for n threads.
func (c Constraints) resolve(m *Model, n int) (*space, error) {
	topo := m.Topology()
	allowed, err := m.Results().Allowed()
	if err != nil {
		return nil, err
	}
	set := allowed
	if !c.CPUs.IsEmpty() {
		if extra := c.CPUs.Difference(topo.Online); !extra.IsEmpty() {
			return nil, constraintf("place: CPUs %s are not in the topology of %s (online: %s)", extra, m.Results().Dir, topo.Online)
		}
		if extra := c.CPUs.Difference(allowed); !extra.IsEmpty() {
			return nil, constraintf("place: CPUs %s are outside the run's allowed CPUs %s", extra, allowed)
		}
		set = c.CPUs
	}
	if extra := c.Reserve.Difference(topo.Online); !extra.IsEmpty() {
		return nil, constraintf("place: reserved CPUs %s are not in the topology of %s (online: %s)", extra, m.Results().Dir, topo.Online)
	}
	set = set.Difference(c.Reserve)
	if set.IsEmpty() {
		return nil, constraintf("place: no usable CPU: the CPUs %s less the reserved %s leave none", orAll(c.CPUs, allowed), c.Reserve)
	}
	if c.Share {
		if _, ok := m.ClassNs(affinity.SameCPU); !ok {
			return nil, constraintf("place: sharing CPUs needs the run's samecpu figure for wait=%s, and %s has none", m.Wait(), m.Results().Dir)
		}
	}
	s := &space{cpus: canonicalOrder(topo, set), share: c.Share, set: set}
	s.oneSMT = m.Wait().BusyPolls() && !m.smtCheapest()
	for _, cpu := range s.cpus {
		info, _ := topo.CPU(cpu)
		s.core = append(s.core, info.Core)
		s.paths = append(s.paths, path(topo, cpu))
	}
	return s, s.fits(n, m.Wait())
}

// orAll returns set, or all when set is empty.
func orAll(set, all affinity.CPUSet) affinity.CPUSet {
	if set.IsEmpty() {
		return all
	}
	return set
}

// fits checks that n threads fit the space.
func (s *space) fits(n int, wait Wait) error {
	if s.share {
		return nil
	}
	if n > len(s.cpus) {
		return constraintf("place: %d threads, but only %d usable CPUs (%s)", n, len(s.cpus), s.set)
	}
	if cores := s.cores(); s.oneSMT && n > cores {
		return constraintf("place: %d busy-polling threads (wait=%s) need a core each (SMT siblings spin against each other), but the usable CPUs %s span %d cores",
			n, wait, s.set, cores)
	}
	return nil
}

// cores counts the distinct cores of the usable CPUs.
func (s *space) cores() int {
	seen := map[int]bool{}
	for _, c := range s.core {
		seen[c] = true
	}
	return len(seen)
}

// positions maps CPUs of the space to their positions in s.cpus.
func (s *space) positions(cpus []int) []int {
	index := make(map[int]int, len(s.cpus))
	for x, c := range s.cpus {
		index[c] = x
	}
	out := make([]int, len(cpus))
	for i, c := range cpus {
		out[i] = index[c]
	}
	return out
}

// ConstraintError is a plan the constraints rule out: CPUs outside the
// topology or the run's allowed set, none left after the reserved ones,
// sharing without a samecpu figure, more threads than the CPUs (or
// cores) can take. A command line reports it as a mistake in its flags.
type ConstraintError struct{ msg string }

// Error returns the message, which names the problem.
func (e *ConstraintError) Error() string { return e.msg }

// constraintf returns a ConstraintError formatted as fmt.Sprintf does.
func constraintf(format string, args ...any) error {
	return &ConstraintError{fmt.Sprintf(format, args...)}
}
