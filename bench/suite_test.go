package bench

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// The filter splits and matches like go test's -bench: alternatives at
// the top-level '|', elements at '/', each unanchored, brackets and
// parentheses kept whole.
func TestFilterMatchesLikeGoTest(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{".", "BenchmarkFloor/place=llc", true},
		{"Floor", "BenchmarkFloor/place=llc", true},
		{"Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place", "BenchmarkFloor/place=llc", true},
		{"Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place", "BenchmarkCoroutine/op=lifecycle/impl=coro", false},
		{"Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place", "BenchmarkCoroutine/op=switch/impl=coro", true},
		{"Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place", "BenchmarkHandoff/via=aio/wait=block/pin=cpu/place=llc", false},
		{"Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place", "BenchmarkHandoff/via=aio/wait=block/place=unpinned", true},
		{"Handoff/via=(aio|queue)", "BenchmarkHandoff/via=queue/wait=poll/place=llc", true},
		{"Handoff/via=[aq]", "BenchmarkHandoff/via=chan/wait=block/place=llc", false},
		{"^$", "BenchmarkFloor/place=llc", false},
	} {
		f, err := NewFilter(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := f.Match(tc.name); got != tc.want {
			t.Errorf("-bench %q on %s: %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"", "Floor/(", "a[b"} {
		if _, err := NewFilter(bad); err == nil {
			t.Errorf("-bench %q: no error", bad)
		}
	}
}

// The catalogue on a two-socket fixture holds every family, with unique
// full names; each leaf has a body, and leaves the machine lacks carry the
// harness's skip reason.
func TestSuiteLeavesOnFixture(t *testing.T) {
	topo := fixture(t, "two-socket-smt")
	leaves := Leaves(Suite(topo, SuiteOptions{}))
	seen := map[string]bool{}
	for _, l := range leaves {
		if seen[l.Name] {
			t.Errorf("leaf %s twice", l.Name)
		}
		seen[l.Name] = true
		if l.Body == nil {
			t.Errorf("leaf %s has no body", l.Name)
		}
	}
	for _, want := range []string{
		"BenchmarkFloor/place=smt",
		"BenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=remote",
		"BenchmarkHandoff/via=aio/wait=block/pin=node/place=remote",
		"BenchmarkHandoff/via=chanfree/wait=block/rate=sparse/place=unpinned",
		"BenchmarkQueue/impl=mpsc/pad=128/producers=1/place=llc",
		"BenchmarkQueue/impl=chan/producers=14/place=all",
		"BenchmarkMutex/impl=comutex/contexts=2/place=samecpu",
		"BenchmarkNotify/target=asleep",
		"BenchmarkSchedule/contexts=5/place=unpinned",
		"BenchmarkCoroutine/op=lifecycle/impl=goroutine",
	} {
		if !seen[want] {
			t.Errorf("no leaf %s", want)
		}
	}
	i := slices.IndexFunc(leaves, func(l Leaf) bool { return l.Name == "BenchmarkFloor/place=l2" })
	if i < 0 || !strings.HasPrefix(leaves[i].Skip, "no two allowed CPUs of this machine are l2 apart") {
		t.Errorf("BenchmarkFloor/place=l2 on a machine without shared L2: %+v", leaves)
	}
	sweep := Leaves(Suite(topo, SuiteOptions{Sweep: true}))
	if !slices.ContainsFunc(sweep, func(l Leaf) bool {
		return l.Name == "BenchmarkHandoff/via=aio/wait=adaptive/pollmax=64us/rate=dense/place=llc"
	}) || len(sweep) <= len(leaves) {
		t.Errorf("the sweep adds no pollmax leaves")
	}
}

// A leaf run through testing.Benchmark gives the result line go test
// prints: the name with the -GOMAXPROCS suffix, the leaf's own metrics,
// B/op and allocs/op where the leaf reports allocations, under the
// configuration lines go test prints.
func TestRunLeafWritesGoTestFormat(t *testing.T) {
	if err := SetBenchtime("3x"); err != nil {
		t.Fatal(err)
	}
	defer SetBenchtime("1s")
	leaves := Leaves(Suite(topo, SuiteOptions{}))
	var buf strings.Builder
	rw := NewResultWriter(&buf, GoTestConfig(topo))
	for _, name := range []string{"BenchmarkNotify/target=awake", "BenchmarkCoroutine/op=switch/impl=pull"} {
		i := slices.IndexFunc(leaves, func(l Leaf) bool { return l.Name == name })
		res, err := RunLeaf(leaves[i])
		if err != nil {
			t.Fatal(err)
		}
		if res.N != 3 {
			t.Errorf("%s ran %d iterations at -benchtime 3x", name, res.N)
		}
		if err := rw.Write(name, res, leaves[i].Allocs); err != nil {
			t.Fatal(err)
		}
	}
	r := benchfmt.NewReader(strings.NewReader(buf.String()), "x")
	var got []string
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("not a result: %v", r.Result())
		}
		var units []string
		for _, v := range res.Values {
			u := v.OrigUnit
			if u == "" {
				u = v.Unit
			}
			units = append(units, u)
		}
		got = append(got, string(res.Name)+" "+strings.Join(units, ","))
		for _, key := range []string{"machine", "topology", "goos", "goarch", "pkg", "cpu", "gomaxprocs"} {
			if res.GetConfig(key) == "" {
				t.Errorf("%s: no %s configuration line", res.Name, key)
			}
		}
	}
	suffix := ""
	if p := runtime.GOMAXPROCS(0); p != 1 {
		suffix = "-" + strconv.Itoa(p)
	}
	want := []string{
		"Notify/target=awake" + suffix + " ns/op,wakeups/op",
		"Coroutine/op=switch/impl=pull" + suffix + " ns/op,B/op,allocs/op",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results %q, want %q\n%s", got, want, buf.String())
	}
	if err := SetBenchtime("0x"); err == nil {
		t.Error("-benchtime 0x accepted")
	}
}
