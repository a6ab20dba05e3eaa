package tune

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A placement that no run can make is an *OptionError before anything
// is measured: flags that do not go together, the pattern's own
// mistakes, more threads than a verification runs.
func TestPlacementOptionErrors(t *testing.T) {
	for _, c := range []struct {
		threads        int
		pattern, graph string
		want           string
	}{
		{2, "", "", "--threads and --pattern go together"},
		{0, "ring", "", "--threads and --pattern go together"},
		{2, "ring", "g.json", "--graph excludes"},
		{3, "pairs", "", "even number"},
		{4, "star", "", "star"},
		{66, "ring", "", "at most 64"},
	} {
		o := Defaults(Quick)
		o.Threads, o.Pattern, o.Graph = c.threads, c.pattern, c.graph
		err := o.check(false)
		if _, ok := err.(*OptionError); !ok || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--threads %d --pattern %q --graph %q: %v; want an *OptionError saying %q", c.threads, c.pattern, c.graph, err, c.want)
		}
	}
	o := Defaults(Quick)
	o.Threads, o.Pattern = 4, "ring"
	if err := o.check(false); err != nil {
		t.Errorf("--threads 4 --pattern ring: %v", err)
	}
}

// The plan names the placement step and counts it in each mode's
// estimate: every placement once a round, its run time and start-up.
func TestPlanPlacement(t *testing.T) {
	o := Defaults(Quick)
	o.Root, o.Bench, o.Threads, o.Pattern = filepath.Join("..", "testdata", "topologies", "two-socket-smt"), "Handoff/via=aio", 4, "ring"
	var out bytes.Buffer
	if err := Plan(context.Background(), o, &out, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  placement: 4 threads (ring) planned from the run's via=aio handoffs and matrix for its recommended wait mode, on its allowed CPUs, then verified here against compact, spread and unpinned in 6 interleaved rounds of 50ms per placement: about 1.7s\n",
		"in 10 interleaved rounds of 200ms per placement: about 8.8s\n",
		", placement 1.7s, report 1s)\n", ", placement 8.8s, report 1s)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
	if got := placementEstimate(Mode{}); got != 6*4*(100*time.Millisecond+placementStart) {
		t.Errorf("estimate at place's defaults: %v", got)
	}
}
