package report_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/pinbench/pinbench/report"
)

// exampleRun is a two-CPU machine's handoffs: busy-poll and a kernel wait
// at two placement classes, ten samples each.
func exampleRun() *report.Run {
	var b strings.Builder
	b.WriteString("machine: example\n")
	for i := range 10 {
		for _, l := range []struct {
			wait, place string
			ns, cpu     int
		}{{"poll", "smt", 180, 360}, {"poll", "llc", 250, 500}, {"block", "smt", 6000, 5000}, {"block", "llc", 7000, 6000}} {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=%s/place=%s-2 1000 %d ns/op %d cpu-ns/op\n", l.wait, l.place, l.ns+i, l.cpu+i)
		}
	}
	run, err := report.Read(strings.NewReader(b.String()), "example.txt")
	if err != nil {
		panic(err)
	}
	return run
}

// Recommend reads the placement from busy-poll handoffs, then the wait
// strategy at the fastest placement.
func ExampleRecommend() {
	for _, rec := range report.Recommend(exampleRun(), report.Thresholds{}) {
		if rec.Withheld {
			fmt.Printf("%s: withheld\n", rec.Topic)
			continue
		}
		fmt.Printf("%s: %s\n", rec.Topic, rec.Choice)
	}
	// Output:
	// placement: smt
	// wait strategy: poll
	// padding: withheld
}

// Run.Tables slices a run as `go tool benchstat -col /place -filter
// '/wait:poll'` would.
func ExampleRun_Tables() {
	ts, err := exampleRun().Tables(report.TableOptions{Col: "/place", Filter: "/wait:poll .unit:sec/op"})
	if err != nil {
		panic(err)
	}
	ts.WriteText(os.Stdout, report.RenderOptions{HideKeys: true})
	// Output:
	//                              smt          llc
	//                              sec/op       sec/op       vs base
	// Handoff/via=aio/wait=poll-2  184.5n ± 2%  254.5n ± 1%  +37.94% (p=0.000 n=10)
}
