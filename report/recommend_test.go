package report

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func find(t *testing.T, recs []Recommendation, topic Topic) Recommendation {
	t.Helper()
	for _, r := range recs {
		if r.Topic == topic {
			return r
		}
	}
	t.Fatalf("no %q recommendation in %+v", topic, recs)
	return Recommendation{}
}

func TestRecommendationsSignificant(t *testing.T) {
	recs := Recommend(mustRead(t, "bare.txt"), Thresholds{})
	for topic, want := range map[Topic]string{
		TopicPlacement: "smt", TopicWait: "poll", TopicWindow: "pollmax=32us", TopicPadding: "pad=128",
	} {
		r := find(t, recs, topic)
		if r.Withheld || r.Choice != want {
			t.Errorf("%s: choice %q (withheld %v), want %q: %s", topic, r.Choice, r.Withheld, want, r.Summary)
		}
		if len(r.Evidence) < 2 || !strings.Contains(strings.Join(r.Evidence, "\n"), "p=") {
			t.Errorf("%s: evidence lacks p-values: %q", topic, r.Evidence)
		}
	}
	place := find(t, recs, TopicPlacement)
	for _, want := range []string{"place=llc: 158.9 ns, 2.89x slower than smt (p=0.000 n=10)", "place=remote"} {
		if !strings.Contains(strings.Join(place.Evidence, "\n"), want) {
			t.Errorf("placement evidence lacks %q:\n%s", want, strings.Join(place.Evidence, "\n"))
		}
	}
}

// TestRecommendationsWithheld: placements and paddings that do not differ
// (p > 0.05) get no recommendation, and the p-value shown is benchstat's.
func TestRecommendationsWithheld(t *testing.T) {
	run := mustRead(t, "nosig.txt")
	recs := Recommend(run, Thresholds{})
	place := find(t, recs, TopicPlacement)
	if !place.Withheld || place.Choice != "" || !strings.Contains(place.Summary, "not significantly different") {
		t.Errorf("placement not withheld: %+v", place)
	}
	pad := find(t, recs, TopicPadding)
	if !pad.Withheld || pad.Choice != "" || !strings.Contains(pad.Summary, "not significantly different") {
		t.Errorf("padding not withheld: %+v", pad)
	}
	// The p-value quoted for the runner-up equals benchstat's for the same
	// two columns.
	m := regexp.MustCompile(`^Placement: no recommendation for any wait strategy \(wait=poll: (\S+) and (\S+) are not significantly different \((p=\S+ n=\d+)`).FindStringSubmatch(place.Summary)
	if m == nil {
		t.Fatalf("unexpected summary %q", place.Summary)
	}
	ts, err := run.Tables(TableOptions{Col: "/place@(" + m[1] + " " + m[2] + ")",
		Filter: ".name:Handoff /via:aio /wait:poll .unit:sec/op"})
	if err != nil {
		t.Fatal(err)
	}
	tb := ts.Tables[0]
	c := tb.Cells[tb.Row("Handoff/via=aio/wait=poll-8")][1]
	if c.PN() != m[3] || c.Delta() != "~" {
		t.Errorf("benchstat slice says %s %s, recommendation says %s", c.Delta(), c.PN(), m[3])
	}
}

func TestRecommendationsTooFewSamples(t *testing.T) {
	// few.txt differs clearly (p=0.029 with n=4) but has fewer than 6
	// samples: withheld all the same.
	for _, r := range Recommend(mustRead(t, "few.txt"), Thresholds{}) {
		if !r.Withheld || !strings.Contains(r.Summary, "too few samples") {
			t.Errorf("%s: %+v", r.Topic, r)
		}
	}
	// With the minimum lowered to 4 the clear differences are reported.
	r := find(t, Recommend(mustRead(t, "few.txt"), Thresholds{MinSamples: 4}), "placement")
	if r.Withheld || r.Choice != "smt" {
		t.Errorf("with MinSamples 4: %+v", r)
	}
}

// TestPlacementFallsBackToAnotherWait: where busy-poll ran at one class
// only (a 2-CPU machine skips samecpu and unpinned for spinners), the
// placement comes from the next wait strategy that ran at two, and the
// poll-window sweep is read where the poll reference exists.
func TestPlacementFallsBackToAnotherWait(t *testing.T) {
	var b strings.Builder
	b.WriteString("machine: test\n")
	for i := range 10 {
		j := float64(i)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", 400+j, 800+j, 400+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", 450+j, 700+j, 450+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", 9000+j, 9000+j, 9000+j)
		for _, p := range []string{"samecpu", "llc"} {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pollmax=4us/rate=dense/place=%s-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", p, 500+j, 300+j, 500+j)
		}
	}
	run := readText(t, "fallback.txt", b.String())
	recs := Recommend(run, Thresholds{})
	place := find(t, recs, TopicPlacement)
	if place.Withheld || place.Choice != "llc" || !strings.Contains(strings.Join(place.Evidence, "\n"), "wait=adaptive") {
		t.Errorf("placement %q (withheld %v), want llc from wait=adaptive: %s %q", place.Choice, place.Withheld, place.Summary, place.Evidence)
	}
	window := find(t, recs, TopicWindow)
	if strings.Contains(window.Summary, "no wait=poll reference") {
		t.Errorf("poll window read at a placement without the poll reference: %s", window.Summary)
	}
}

// Placement advice holds per wait strategy: when busy-polling and
// adaptive iothreads are fastest on two CPUs that share the LLC and
// blocking ones on one CPU, the advice says which placement for which
// strategy rather than one placement for all; when they agree it says
// the advice holds for every strategy.
func TestPlacementPerWaitStrategy(t *testing.T) {
	read := func(blockSameCPU float64) *Run {
		var b strings.Builder
		for i := range 10 {
			j := float64(i)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pin=cpu/place=llc-2 1000 %.0f ns/op\n", 200+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pin=cpu/place=samecpu-2 1000 %.0f ns/op\n", 9600+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/pin=cpu/place=llc-2 1000 %.0f ns/op\n", 6000+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/pin=cpu/place=samecpu-2 1000 %.0f ns/op\n", blockSameCPU+j)
		}
		run := readText(t, "waits.txt", b.String())
		return run
	}
	p := find(t, Recommend(read(300), Thresholds{}), TopicPlacement)
	for _, want := range []string{"Placement depends on the wait strategy", "with wait=adaptive pin them as llc (the next best, samecpu, is 46.97x slower", "with wait=block pin them as samecpu (the next best, llc, is 19.72x slower"} {
		if !strings.Contains(p.Summary, want) {
			t.Errorf("summary %q lacks %q", p.Summary, want)
		}
	}
	p = find(t, Recommend(read(12000), Thresholds{}), TopicPlacement)
	if p.Choice != "llc" || !strings.Contains(p.Summary, "pin the two iothreads of a handoff as llc with every wait strategy that settles it (wait=adaptive: llc") || !strings.Contains(p.Summary, "wait=block: llc") {
		t.Errorf("agreeing strategies: %q (choice %q)", p.Summary, p.Choice)
	}
}

// sparseInput is a raw file in which, at llc, adaptive matches poll's
// latency and CPU time back to back (10 samples; adaptive at samecpu is
// slower) and burns far less CPU than poll at rate=sparse (sparse
// samples); withBlock adds a blocking wait at both rates.
func sparseInput(sparse int, withBlock bool) string {
	var b strings.Builder
	for i := range 10 {
		j := float64(i)
		for _, w := range []string{"poll", "adaptive"} {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=%s/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", w, 250+j, 500+j)
		}
		if withBlock {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 7000+j, 6000+j)
		}
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 9000+j, 9000+j)
		if i >= sparse {
			continue
		}
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/rate=sparse/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 50000+j, 56000+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/rate=sparse/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 57000+j, 14000+j)
		if withBlock {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/rate=sparse/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 57000+j, 14000+j)
		}
	}
	return b.String()
}

// TestWaitJudgesCPUAtSparseRate: adaptive matches poll's latency back to
// back and burns far less CPU when handoffs are sparse, so it is chosen,
// although back to back it burns as much as poll.
func TestWaitJudgesCPUAtSparseRate(t *testing.T) {
	run := readText(t, "sparse.txt", sparseInput(10, true))
	w := find(t, Recommend(run, Thresholds{}), TopicWait)
	if w.Withheld || w.Choice != "adaptive" || !strings.Contains(strings.Join(w.Evidence, "\n"), "rate=sparse") {
		t.Errorf("wait strategy %q (withheld %v): %s %q; want adaptive judged on sparse CPU", w.Choice, w.Withheld, w.Summary, w.Evidence)
	}
}

// TestWaitReadWherePollRan: on a 1-core, 2-thread guest busy-poll runs at
// smt only, and a blocking wait on one CPU (samecpu) is the fastest
// placement. The wait strategy is then read at smt, the fastest placement
// with a poll run, and says so, rather than finding no poll at samecpu.
func TestWaitReadWherePollRan(t *testing.T) {
	var b strings.Builder
	for i := range 10 {
		j := float64(i)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=smt-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 250+j, 500+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=smt-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 260+j, 300+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 100+j, 100+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/place=smt-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 7000+j, 6000+j)
	}
	run := readText(t, "smt2.txt", b.String())
	recs := Recommend(run, Thresholds{})
	if p := find(t, recs, TopicPlacement); p.Choice != "samecpu" {
		t.Fatalf("placement %q (%s), want samecpu", p.Choice, p.Summary)
	}
	w := find(t, recs, TopicWait)
	ev := strings.Join(w.Evidence, "\n")
	if w.Withheld || w.Choice != "adaptive" || !strings.Contains(ev, "place=smt (the fastest placement with a wait=poll run; samecpu had none)") {
		t.Errorf("wait strategy %q (withheld %v): %s %q; want adaptive read at smt", w.Choice, w.Withheld, w.Summary, w.Evidence)
	}
}

// The pinning recommendation compares pin=node with pin=cpu at the same
// place (remote), falls back to the fastest pin=cpu placement where pin=cpu
// has no such place (place=node on a machine without the node class), and
// is withheld when the two do not differ significantly. Names without a
// pin key (results from before it, the unpinned baseline) count as
// pin=cpu.
func TestPinRecommendation(t *testing.T) {
	gen := func(nodeRemote, nodeNode float64, oldNames bool) *Run {
		var b strings.Builder
		b.WriteString("machine: test\n")
		pin := "pin=cpu/"
		if oldNames {
			pin = ""
		}
		for i := range 10 {
			j := float64(i)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/%splace=llc-4 1000 %.0f ns/op\n", pin, 200+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/%splace=remote-4 1000 %.0f ns/op\n", pin, 400+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=remote-4 1000 %.0f ns/op 0.25 samecpu-frac\n", nodeRemote+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=node-4 1000 %.0f ns/op 0.5 samecpu-frac\n", nodeNode+j)
		}
		run := readText(t, "pin.txt", b.String())
		return run
	}
	for _, old := range []bool{false, true} {
		recs := Recommend(gen(800, 600, old), Thresholds{})
		pin := find(t, recs, TopicPinning)
		ev := strings.Join(pin.Evidence, "\n")
		if pin.Withheld || pin.Choice != "cpu" || !strings.Contains(pin.Summary, "one CPU") {
			t.Errorf("old names %v: %s (choice %q, withheld %v); want pin per CPU", old, pin.Summary, pin.Choice, pin.Withheld)
		}
		for _, want := range []string{"pin=node/place=remote 804.5 ns, 1.99x slower than pin=cpu/place=remote 404.5 ns (p=0.000 n=10)", "pin=node/place=node 604.5 ns, 2.96x slower than pin=cpu/place=llc 204.5 ns", "one CPU in 50% of getcpu samples"} {
			if !strings.Contains(ev, want) {
				t.Errorf("evidence lacks %q:\n%s", want, ev)
			}
		}
		if place := find(t, recs, TopicPlacement); place.Choice != "llc" {
			t.Errorf("placement %q; want llc (pin=node results must not mix into it)", place.Choice)
		}
	}
	// Node per-node pinning no different from per-CPU: withheld.
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=remote-4 1000 %d ns/op\n", 400+(i*7)%10)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=remote-4 1000 %d ns/op\n", 400+(i*3)%10)
	}
	run := readText(t, "pin-same.txt", b.String())
	if pin := find(t, Recommend(run, Thresholds{}), TopicPinning); !pin.Withheld || !strings.Contains(pin.Summary, "not significantly different") {
		t.Errorf("equal pinnings: %s (withheld %v); want withheld", pin.Summary, pin.Withheld)
	}
	// No pin=node results: no pinning topic at all.
	for _, r := range Recommend(mustRead(t, "bare.txt"), Thresholds{}) {
		if r.Topic == TopicPinning {
			t.Errorf("pinning recommendation without pin=node results: %s", r.Summary)
		}
	}
}

// TestWaitSparseTooFewSamples: the wait strategy judges CPU time at
// rate=sparse when those runs exist; with 4 samples there, below
// MinSamples (6), it is withheld and says so, although the back-to-back
// runs have 10 (issue 20, item 7).
func TestWaitSparseTooFewSamples(t *testing.T) {
	w := find(t, Recommend(readText(t, "sparse4.txt", sparseInput(4, false)), Thresholds{}), TopicWait)
	if !w.Withheld || w.Choice != "" || !strings.Contains(w.Summary, "rate=sparse") || !strings.Contains(w.Summary, "n=4, need 6") {
		t.Errorf("wait strategy %q (withheld %v): %s; want it withheld for 4 rate=sparse samples", w.Choice, w.Withheld, w.Summary)
	}
}
