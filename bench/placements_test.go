package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/affinity"
)

// A module of its own (testdata/placed, its go.mod replacing this module
// with the working tree) benchmarks an atomic handoff between two
// spinning sides through Placements, as a user's module would: go test
// -bench there runs one sub-benchmark place=CLASS for each class this
// machine can run spinning sides at, skips the others with the reason,
// and prints the configuration lines benchstat needs above the results.
func TestPlacementsFromAnotherModule(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs another module's benchmarks")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the other module with: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, "test", "-run", "^$", "-bench", ".", "-benchtime", "1000x", "-v")
	cmd.Dir = "testdata/placed"
	cmd.Env = append(cmd.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -bench in testdata/placed: %v\n%s", err, out)
	}
	results := placedResults(t, string(out))
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		name := "AtomicHandoff/place=" + string(class)
		a, c, skip := placementCPUs(topo, class, true)
		res, ran := results[name]
		switch {
		case skip == "" && !ran:
			t.Errorf("%s: no result, though this machine can run it\n%s", name, out)
		case skip != "" && (ran || !strings.Contains(string(out), "--- SKIP: Benchmark"+name+"\n")):
			t.Errorf("%s: ran or not skipped, though %s\n%s", name, skip, out)
		case skip != "" && !strings.Contains(string(out), skip):
			t.Errorf("%s: skipped without the reason %q\n%s", name, skip, out)
		case skip == "":
			checkPlacedConfig(t, name, res, class, affinity.Pair{A: a, B: c})
		}
	}
}

// placedResults parses go test's output with benchfmt: the results by
// name, without the -GOMAXPROCS suffix.
func placedResults(t *testing.T, out string) map[string]*benchfmt.Result {
	results := map[string]*benchfmt.Result{}
	r := benchfmt.NewReader(strings.NewReader(out), "placed")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			name, _, _ := strings.Cut(string(rec.Name.Full()), "-")
			results[name] = rec.Clone()
		case *benchfmt.SyntaxError:
			t.Errorf("go test's output does not parse: %v", rec)
		}
	}
	return results
}

// checkPlacedConfig checks that result res of class ran under this
// machine's configuration lines and go test's own.
func checkPlacedConfig(t *testing.T, name string, res *benchfmt.Result, class affinity.Class, p affinity.Pair) {
	want := map[string]string{"machine": topo.MachineID(), "topology": topo.Summary(), "pkg": "example.com/placed", "smt": topo.SMTState()}
	if class != affinity.Unpinned {
		want["pair-"+string(class)] = fmt.Sprintf("%d,%d", p.A, p.B)
	}
	for k, v := range want {
		if got := res.GetConfig(k); got != v {
			t.Errorf("%s: configuration %s = %q, want %q", name, k, got, v)
		}
	}
	if res.GetConfig("pin-node") != "" {
		t.Errorf("%s: the suite's pin-node line came with a user's benchmark", name)
	}
	if v, ok := res.Value("sec/op"); !ok || v <= 0 {
		t.Errorf("%s: no time per op in %v", name, res.Values)
	}
}

// A side that fails fails the run, named with its CPU, and the other
// side, blocked on its channel, is stopped through Done.
func TestPlacedSideFailureStopsTheOther(t *testing.T) {
	boom := errors.New("boom")
	var err error
	testing.Benchmark(func(b *testing.B) {
		err = runPlaced(b, topo, affinity.Unpinned, func(b *testing.B) Sides {
			never := make(chan int)
			return Sides{
				A: func(Stop) error { return boom },
				B: func(stop Stop) error {
					select {
					case <-never:
					case <-stop.Done():
					}
					if !stop.Stopped() {
						return errors.New("Done closed before Stopped")
					}
					return nil
				},
			}
		})
		b.FailNow() // one run is enough
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "side A on an unpinned thread") {
		t.Fatalf("runPlaced: %v, want boom from side A on an unpinned thread", err)
	}
}

// Sides without a function are a mistake named as such.
func TestPlacedSidesNeedBoth(t *testing.T) {
	var err error
	testing.Benchmark(func(b *testing.B) {
		err = runPlaced(b, topo, affinity.Unpinned, func(*testing.B) Sides { return Sides{A: func(Stop) error { return nil }} })
		b.FailNow()
	})
	if err == nil || !strings.Contains(err.Error(), "lack a function (A true, B false)") {
		t.Fatalf("runPlaced with no B: %v", err)
	}
}
