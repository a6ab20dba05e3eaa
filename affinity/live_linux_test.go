//go:build linux

package affinity

import (
	"runtime"
	"sync"
	"testing"
)

func TestDiscoverLive(t *testing.T) {
	topo, err := Discover()
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, topo)
	// An independent count: the kernel's online list, and runtime.NumCPU
	// (the affinity mask at start-up) when nothing restricts the process.
	online := kernelOnline(t)
	if len(topo.CPUs) != online.Count() || topo.Online != online {
		t.Errorf("discovered %d online CPUs (%s), kernel says %s", len(topo.CPUs), topo.Online, online)
	}
	allowed, _ := Allowed()
	if topo.Allowed != allowed {
		t.Errorf("Topology.Allowed %s != Allowed() %s", topo.Allowed, allowed)
	}
	if topo.Allowed == topo.Online && runtime.NumCPU() != len(topo.CPUs) {
		t.Errorf("runtime.NumCPU() = %d, discovered %d CPUs", runtime.NumCPU(), len(topo.CPUs))
	}
	if runtime.NumCPU() != topo.Allowed.Count() {
		t.Errorf("runtime.NumCPU() = %d, allowed %s", runtime.NumCPU(), topo.Allowed)
	}
	if topo.Root != "" || topo.JSON().Source != "live" {
		t.Errorf("live topology has root %q", topo.Root)
	}
	t.Logf("live: %s; model %q; identity %+v; placements %v", topo.Summary(), topo.Model, topo.Identity, topo.Placements())
}

// TestLivePlacements pins two threads to each class's representative pair
// and checks they run there; classes this machine lacks skip.
func TestLivePlacements(t *testing.T) {
	topo, err := Discover()
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range Classes() {
		t.Run(string(cl), func(t *testing.T) {
			p, ok := topo.Pair(cl)
			if !ok {
				t.Skipf("no %s pair among the allowed CPUs %s on this machine (%s)", cl, topo.Allowed, topo.Summary())
			}
			if topo.Relation(p.A, p.B) != cl {
				t.Fatalf("pair %v has relation %s", p, topo.Relation(p.A, p.B))
			}
			var wg sync.WaitGroup
			for _, cpu := range []int{p.A, p.B} {
				wg.Add(1)
				go func() { // exits locked: the thread is discarded
					defer wg.Done()
					if err := PinCPU(cpu); err != nil {
						t.Errorf("PinCPU(%d): %v", cpu, err)
						return
					}
					if got := CurrentCPU(); got != cpu {
						t.Errorf("pinned to %d, running on %d", cpu, got)
					}
				}()
			}
			wg.Wait()
		})
	}
	for _, n := range topo.Nodes {
		if cpus := topo.NodeCPUs(n.ID); !cpus.IsEmpty() {
			inFreshThread(func() {
				if err := PinThread(cpus); err != nil {
					t.Errorf("PinThread(node %d = %s): %v", n.ID, cpus, err)
				}
			})
		}
	}
}
