package handoff

import (
	"sync/atomic"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/cacheline"
)

// cpuTrack records where the two sides of a handoff ran: each side, now
// and then and off the handoff's critical path, asks getcpu where it is
// (a system call) and notes it next to the other side's last answer. The
// pairs tell how often the kernel put a pin=node handoff's two sides on
// one CPU or on SMT siblings; pin=cpu ones are a check (one pair).
//
// Who may call what: Sample from the two sides (side me writes only its
// own slots); summarise after both sides have finished.
type cpuTrack struct {
	// last[i] is side i's CPU at its latest sample, -1 before the first.
	// Written by side i, read by the other: a plain atomic store and load,
	// no ordering needed (a stale CPU is as good a sample as a fresh one).
	last [2]atomic.Int32
	_    [cacheline.Pad]byte
	// pairs[i] are side i's samples: its CPU and the other's last, until
	// full. Each slice is written by its side only.
	pairs [2][][2]int32
}

// maxCPUSamples bounds each side's samples, preallocated so that sampling
// allocates nothing.
const maxCPUSamples = 1024

// cpuSampleEvery is how often (in a side's own hops) a side samples its CPU.
const cpuSampleEvery = 512

func newCPUTrack() *cpuTrack {
	k := &cpuTrack{}
	for i := range k.pairs {
		k.last[i].Store(-1)
		k.pairs[i] = make([][2]int32, 0, maxCPUSamples)
	}
	return k
}

// Sample records side me's CPU now, with the other side's latest.
func (k *cpuTrack) Sample(me int) {
	cpu := int32(affinity.CurrentCPU())
	k.last[me].Store(cpu)
	if len(k.pairs[me]) < cap(k.pairs[me]) {
		k.pairs[me] = append(k.pairs[me], [2]int32{cpu, k.last[1-me].Load()})
	}
}

// Placement summarises where the two sides of a run were seen.
type Placement struct {
	// Samples counts the samples that saw both sides' CPUs.
	Samples int
	// SameCPU and SMT count the samples that found the two sides on one
	// CPU, and on two SMT siblings of one core.
	SameCPU, SMT int
	// Seen counts the distinct CPUs either side was seen on.
	Seen int
}

// summarise classifies the samples with t (nil: only Seen and SameCPU).
func (k *cpuTrack) summarise(t *affinity.Topology) Placement {
	var p Placement
	seen := map[int32]bool{}
	for _, side := range k.pairs {
		for _, s := range side {
			if s[0] >= 0 {
				seen[s[0]] = true
			}
			if s[0] < 0 || s[1] < 0 {
				continue
			}
			p.Samples++
			switch {
			case s[0] == s[1]:
				p.SameCPU++
			case t != nil && t.Relation(int(s[0]), int(s[1])) == affinity.SMT:
				p.SMT++
			}
		}
	}
	p.Seen = len(seen)
	return p
}
