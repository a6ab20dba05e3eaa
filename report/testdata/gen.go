//go:build ignore

// Gen writes the synthetic raw benchmark files under report/testdata from
// plausible figures (see ../../shared/DESIGN.md section 3) with seeded noise,
// the way `go test -bench -count N ./bench` prints them.
//
//	go run ./report/testdata/gen.go
package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

type metric struct {
	unit  string
	value float64 // median
	noise float64 // relative spread (sigma of the log)
	int   bool    // print as an integer
}

type bench struct {
	name    string
	metrics []metric
}

type machine struct {
	file   string
	config [][2]string
	procs  int
	count  int
	seed   uint64
	noise  float64 // multiplies every metric's noise
	benchs []bench
}

func main() {
	dir := filepath.Dir(os.Args[0])
	if _, err := os.Stat("report/testdata"); err == nil {
		dir = "report/testdata"
	} else if _, err := os.Stat("testdata"); err == nil {
		dir = "testdata"
	}
	for _, m := range []machine{bare(), vm(), nosig(), few()} {
		var b strings.Builder
		for _, kv := range m.config {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
		}
		rng := rand.New(rand.NewPCG(m.seed, 7))
		for _, bn := range m.benchs {
			for range m.count {
				name := fmt.Sprintf("Benchmark%s-%d", bn.name, m.procs)
				line := fmt.Sprintf("%-60s\t", name)
				var parts []string
				ns := 0.0
				for _, mt := range bn.metrics {
					v := mt.value
					if mt.noise > 0 {
						v *= math.Exp(rng.NormFloat64() * mt.noise * m.noise)
						if rng.Float64() < 0.05 { // an occasional outlier
							v *= 1 + 0.3*rng.Float64()
						}
					}
					if mt.unit == "ns/op" {
						ns = v
					}
					if mt.int {
						parts = append(parts, fmt.Sprintf("%d %s", int64(math.Round(v)), mt.unit))
					} else {
						parts = append(parts, fmt.Sprintf("%.4g %s", v, mt.unit))
					}
				}
				iters := int64(1e9 / math.Max(ns, 1))
				line += fmt.Sprintf("%10d\t", max(iters, 1))
				b.WriteString(line + strings.Join(parts, "\t") + "\n")
			}
		}
		b.WriteString("PASS\nok  \tgithub.com/pinbench/pinbench/bench\t42.123s\n")
		if err := os.WriteFile(filepath.Join(dir, m.file), []byte(b.String()), 0o644); err != nil {
			panic(err)
		}
	}
}

func header(cpu, machineID, topo, hyper, gov, smt, procs, allowed string, pairs [][2]string) [][2]string {
	c := [][2]string{
		{"goos", "linux"}, {"goarch", "amd64"}, {"pkg", "github.com/pinbench/pinbench/bench"},
		{"cpu", cpu}, {"machine", machineID}, {"topology", topo},
	}
	for _, p := range pairs {
		c = append(c, [2]string{"pair-" + p[0], p[1]})
	}
	return append(c, [][2]string{{"hypervisor", hyper}, {"governor", gov}, {"smt", smt},
		{"cacheline", "64"}, {"gomaxprocs", procs}, {"allowed", allowed}}...)
}

func ns(v, noise float64) metric { return metric{"ns/op", v, noise, false} }
func m(unit string, v, noise float64) metric {
	return metric{unit, v, noise, false}
}
func zeroAllocs() []metric {
	return []metric{{"B/op", 0, 0, true}, {"allocs/op", 0, 0, true}}
}

// handoff returns a via=aio handoff result with latency lat (ns) and CPU cost
// cpu (ns of CPU per op).
func handoff(name string, lat, cpu, wake, noise float64) bench {
	ms := []metric{ns(lat, noise), m("p50-ns", lat*0.95, noise), m("p99-ns", lat*2.5, noise*2),
		m("wakeups/op", wake, 0.02), m("cpu-ns/op", cpu, noise)}
	return bench{name, append(ms, zeroAllocs()...)}
}

// family writes the whole suite for a machine. lat maps each placement class
// to its cache-line floor in ns.
func family(places []string, floor map[string]float64, padGain float64, sweep bool) []bench {
	var out []bench
	for _, p := range places {
		if p == "samecpu" {
			continue
		}
		out = append(out, bench{"Floor/place=" + p, append([]metric{ns(floor[p], 0.03)}, zeroAllocs()...)})
	}
	for _, p := range places {
		if p == "samecpu" {
			continue
		}
		for _, prod := range []int{1, 3} {
			base := floor[p] * 0.2
			for _, pad := range []int{64, 128} {
				v := base
				if pad == 128 {
					v = base / padGain
				}
				out = append(out, bench{fmt.Sprintf("Queue/impl=mpsc/pad=%d/producers=%d/place=%s", pad, prod, p),
					append([]metric{ns(v, 0.04), m("items/s", 1e9/v, 0.04)}, zeroAllocs()...)})
			}
			out = append(out, bench{fmt.Sprintf("Queue/impl=chan/producers=%d/place=%s", prod, p),
				[]metric{ns(base*4, 0.05), m("items/s", 1e9/(base*4), 0.05), {"B/op", 0, 0, true}, {"allocs/op", 0, 0, true}}})
			out = append(out, bench{fmt.Sprintf("Queue/impl=mutex/producers=%d/place=%s", prod, p),
				[]metric{ns(base*3, 0.06), m("items/s", 1e9/(base*3), 0.06), {"B/op", 0, 0, true}, {"allocs/op", 0, 0, true}}})
		}
	}
	for _, w := range []string{"poll", "block", "adaptive"} {
		for _, p := range places {
			if p == "samecpu" && w == "poll" {
				continue
			}
			f := floor[p]
			if p == "samecpu" {
				f = 500
			}
			switch w {
			case "poll":
				out = append(out, handoff("Handoff/via=aio/wait=poll/place="+p, f*2.5, f*5, 0, 0.04))
			case "block":
				out = append(out, handoff("Handoff/via=aio/wait=block/place="+p, 5500+f*5, 4000+f, 1, 0.05))
			case "adaptive":
				out = append(out, handoff("Handoff/via=aio/wait=adaptive/place="+p, f*2.8, f*5.5, 0.01, 0.05))
			}
		}
	}
	for _, p := range places {
		f := floor[p]
		out = append(out, bench{"Handoff/via=chan/wait=block/place=" + p,
			[]metric{ns(15000+f*10, 0.06), m("p50-ns", 14800+f*10, 0.06), m("p99-ns", 40000, 0.1),
				m("cpu-ns/op", 9000, 0.05), {"B/op", 0, 0, true}, {"allocs/op", 0, 0, true}}})
	}
	out = append(out, bench{"Handoff/via=chanfree/wait=block/place=unpinned",
		[]metric{ns(280, 0.05), m("p50-ns", 270, 0.05), m("p99-ns", 900, 0.1), m("cpu-ns/op", 450, 0.05),
			{"B/op", 0, 0, true}, {"allocs/op", 0, 0, true}}})
	if sweep {
		p := "llc"
		if floor[p] == 0 {
			p = places[0]
		}
		f := floor[p]
		// Sparse: a handoff every ~40 us. Poll burns it all; windows
		// shorter than the gap sleep and pay the kernel wake.
		out = append(out, handoff("Handoff/via=aio/wait=poll/rate=sparse/place="+p, f*2.5, 40000, 0, 0.03))
		out = append(out, handoff("Handoff/via=aio/wait=poll/rate=dense/place="+p, f*2.5, f*5, 0, 0.03))
		sparse := map[int][2]float64{0: {6000, 3500}, 4: {5800, 7000}, 16: {2400, 15000}, 32: {f * 3.2, 21000}, 64: {f * 2.7, 36000}}
		for _, win := range []int{0, 4, 16, 32, 64} {
			s := sparse[win]
			out = append(out, handoff(fmt.Sprintf("Handoff/via=aio/wait=adaptive/pollmax=%dus/rate=sparse/place=%s", win, p), s[0], s[1], 1, 0.04))
			dl, dc := f*2.6, f*5.2
			if win == 0 {
				dl, dc = 5600, 4200
			}
			out = append(out, handoff(fmt.Sprintf("Handoff/via=aio/wait=adaptive/pollmax=%dus/rate=dense/place=%s", win, p), dl, dc, 0.02, 0.04))
		}
	}
	for _, op := range []string{"switch", "lifecycle"} {
		for _, iv := range []struct {
			impl string
			v    float64
		}{{"coro", 95}, {"pull", 80}, {"goroutine", 420}} {
			impl, v := iv.impl, iv.v
			if op == "lifecycle" {
				v *= 3
			}
			out = append(out, bench{"Coroutine/op=" + op + "/impl=" + impl, append([]metric{ns(v, 0.03)}, zeroAllocs()...)})
		}
	}
	for _, p := range places {
		if p == "samecpu" {
			continue
		}
		v := floor[p] * 6
		out = append(out, bench{"Schedule/contexts=2/place=" + p,
			[]metric{ns(v, 0.05), m("schedules/s", 1e9/v, 0.05), m("retry/op", 0.3, 0.1), m("here/op", 0.25, 0.1),
				m("ctxsw/op", 0.001, 0.3), m("migrations/op", 0, 0)}})
	}
	out = append(out, bench{"Notify/target=awake", append([]metric{ns(2.1, 0.02)}, zeroAllocs()...)})
	out = append(out, bench{"Notify/target=asleep", append([]metric{ns(1200, 0.05)}, zeroAllocs()...)})
	return out
}

// bare is a two-socket bare-metal machine with SMT, performance governor,
// -count 10 and the poll-window sweep: every recommendation is significant.
func bare() machine {
	places := []string{"samecpu", "smt", "llc", "remote", "unpinned"}
	floor := map[string]float64{"smt": 22, "llc": 62, "remote": 135, "unpinned": 90}
	return machine{
		file: "bare.txt", procs: 32, count: 10, seed: 1, noise: 1,
		config: header("Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "intel-xeon-gold-6230-20c-40t-bare",
			"2 packages, 2 nodes, 2 L3, 40 cores, 80 CPUs", "none", "performance", "on", "32", "0-79",
			[][2]string{{"samecpu", "1,1"}, {"smt", "1,41"}, {"llc", "1,2"}, {"remote", "1,21"}}),
		benchs: family(places, floor, 1.3, true),
	}
}

// vm is the 2-core KVM guest with a powersave governor, -count 6.
func vm() machine {
	places := []string{"samecpu", "llc", "unpinned"}
	floor := map[string]float64{"llc": 110, "unpinned": 160}
	return machine{
		file: "vm.txt", procs: 2, count: 6, seed: 2, noise: 2,
		config: header("AMD EPYC 7B13", "amd-epyc-7b13-2c-2t-kvm", "1 package, 1 node, 1 L3, 2 cores, 2 CPUs",
			"KVM", "powersave", "off", "2", "0-1", [][2]string{{"samecpu", "1,1"}, {"llc", "0,1"}}),
		benchs: family(places, floor, 1.2, false),
	}
}

// onLaptop completes run, its file, count, seed and noise set, as a run on
// the 4-core i7 laptop (classes smt, llc and unpinned) with these floors.
func onLaptop(run machine, floor map[string]float64, padGain float64) machine {
	run.procs = 8
	run.config = header("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", "intel-core-i7-8650u-4c-8t-bare",
		"1 package, 1 node, 1 L3, 4 cores, 8 CPUs", "none", "performance", "on", "8", "0-7",
		[][2]string{{"smt", "1,5"}, {"llc", "1,2"}})
	run.benchs = family([]string{"smt", "llc", "unpinned"}, floor, padGain, false)
	return run
}

// nosig has -count 10 but placements and paddings that do not differ:
// the recommendations must be withheld.
func nosig() machine {
	return onLaptop(machine{file: "nosig.txt", count: 10, seed: 3, noise: 3},
		map[string]float64{"smt": 60, "llc": 60.5, "unpinned": 61}, 1.0)
}

// few has -count 4: too few samples for confidence intervals.
func few() machine {
	return onLaptop(machine{file: "few.txt", count: 4, seed: 4, noise: 1},
		map[string]float64{"smt": 20, "llc": 60, "unpinned": 80}, 1.3)
}
