package aio

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
	"github.com/pinbench/pinbench/internal/threadclock"
)

func TestIOThreadLifecycle(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	ran, tid := false, 0
	mustRun(t, it, func() { ran, tid = true, unix.Gettid() })
	if !ran || tid != it.Tid() {
		t.Fatalf("Run: ran %v on thread %d, iothread is %d", ran, tid, it.Tid())
	}
	if tid == unix.Getpid() {
		t.Fatal("iothread lives on the main thread")
	}
	// Run from the iothread itself runs directly instead of deadlocking.
	nested := false
	mustRun(t, it, func() { _ = it.Run(func() { nested = true }) })
	if !nested {
		t.Fatal("nested Run did not run")
	}
	// A panic in fn reaches the caller; the iothread carries on.
	testcheck.Panics(t, "fn fails", func() { it.Run(func() { panic("fn fails") }) })
	ok := false
	mustRun(t, it, func() { ok = true })
	if !ok {
		t.Fatal("iothread dead after a panic in Run")
	}
	// Join from the iothread itself would wait for its own end.
	testcheck.Panics(t, "itself", func() { it.Run(func() { it.Join() }) })
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
	if err := it.Join(); err != nil {
		t.Fatalf("second Join: %v", err)
	}
	if err := it.Run(func() { t.Error("Run after Join ran fn") }); err == nil || !strings.Contains(err.Error(), "after Join") || !strings.Contains(err.Error(), fmt.Sprint(it.Tid())) {
		t.Fatalf("Run after Join: error %v, want one saying so and naming the iothread", err)
	}
	if err := unix.Tgkill(unix.Getpid(), it.Tid(), 0); err != unix.ESRCH {
		t.Fatalf("iothread's OS thread %d still exists after Join (%v)", it.Tid(), err)
	}
}

func TestIOThreadPinning(t *testing.T) {
	leakcheck.Check(t)
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	// One CPU each, then the whole allowed set (a node's worth).
	sets := []affinity.CPUSet{allowed}
	for c := range allowed.All() {
		sets = append(sets, affinity.NewCPUSet(c))
	}
	for _, set := range sets {
		it, err := NewIOThread(set)
		if err != nil {
			t.Fatal(err)
		}
		var mask affinity.CPUSet
		var cpu int
		mustRun(t, it, func() {
			mask, err = affinity.ThreadAffinity()
			cpu = affinity.CurrentCPU()
		})
		if err != nil || !mask.Equal(set) || !set.Has(cpu) {
			t.Errorf("pinned to %s: mask %s, CPU %d, err %v", set, mask, cpu, err)
		}
		if !it.CPUs().Equal(set) {
			t.Errorf("CPUs() = %s, want %s", it.CPUs(), set)
		}
		if err := it.Join(); err != nil {
			t.Fatal(err)
		}
	}
	bad := allowed.Last() + 1000
	if _, err := NewIOThread(affinity.NewCPUSet(bad)); err == nil || !strings.Contains(err.Error(), "CPU") {
		t.Fatalf("pinning to CPU %d: error %v, want one naming the CPU", bad, err)
	}
	if _, err := NewIOThread(affinity.CPUSet{}, WithPollParams(-1, 0, 0)); err == nil {
		t.Fatal("negative poll parameters accepted")
	}
	if _, err := NewIOThread(affinity.CPUSet{}, WithWaitMode(9)); err == nil {
		t.Fatal("unknown wait mode accepted")
	}
}

func TestIOThreadBusyNeedsGOMAXPROCS(t *testing.T) {
	leakcheck.Check(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	first, err := NewIOThread(affinity.CPUSet{}, WithWaitMode(WaitPoll))
	if err != nil {
		t.Fatalf("one busy-polling iothread with GOMAXPROCS 2: %v", err)
	}
	defer first.Join()
	_, err = NewIOThread(affinity.CPUSet{}, WithWaitMode(WaitPoll))
	if err == nil || !strings.Contains(err.Error(), "GOMAXPROCS >= 3") {
		t.Fatalf("second busy-polling iothread with GOMAXPROCS 2: error %v, want one asking for GOMAXPROCS >= 3", err)
	}
	other := newIOThread(t)
	defer other.Join()
	if err := other.SetWaitMode(WaitPoll); err == nil {
		t.Fatal("SetWaitMode(WaitPoll) beyond GOMAXPROCS accepted")
	}
	if BusyIOThreads() != 1 {
		t.Fatalf("%d busy iothreads counted, want 1", BusyIOThreads())
	}
}

func TestIOThreadCPUTime(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t, WithWaitMode(WaitBlock))
	if threadclock.Clock(it.Tid()) >= 0 {
		t.Fatalf("thread CPU clock id %d is not negative", threadclock.Clock(it.Tid()))
	}
	joined := false
	defer func() {
		if !joined {
			it.Join()
		}
	}()
	// Burn 20 ms of the thread's own CPU time (not wall time: on a loaded
	// machine the thread may get only a fraction of a CPU).
	var onThread time.Duration
	mustRun(t, it, func() {
		for {
			ns, err := threadclock.Self()
			if err != nil {
				t.Error(err)
				return
			}
			if onThread = time.Duration(ns); onThread >= 20*time.Millisecond {
				return
			}
		}
	})
	fromOutside, err := it.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	// Read from outside after the thread read its own clock: at least as
	// much, and not much more (it has been asleep since).
	if onThread < 20*time.Millisecond || fromOutside < onThread || fromOutside > onThread+20*time.Millisecond {
		t.Fatalf("CPU time: %v read on the thread, %v from outside", onThread, fromOutside)
	}
	joined = true
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
	final, err := it.CPUTime()
	if err != nil || final < fromOutside {
		t.Fatalf("after Join: CPU time %v, %v (was %v)", final, err, fromOutside)
	}
	if s := it.Stats(); s.Tid != it.Tid() || s.CPU != final {
		t.Fatalf("Stats %+v", s)
	}
}

// An iothread passes through Go's scheduler before it sleeps, and a
// coroutine on it at a Checkpoint, staying on its own thread; Stats counts
// the passes.
func TestIOThreadPassesThroughTheScheduler(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	ctx := it.Context()
	deadline := time.Now().Add(10 * time.Second)
	for ctx.Stats().Passes == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the idle iothread's first sleep passes
	}
	if ctx.Stats().Passes == 0 {
		t.Fatal("the idle iothread made no pass through the scheduler within 10s")
	}
	var finished Event
	var tids [2]int
	var before, after uint64
	co := ctx.NewCoroutine(func(self *coroutine.Coroutine) {
		tids[0], before = unix.Gettid(), ctx.Stats().Passes
		for after = before; after == before && time.Now().Before(deadline); after = ctx.Stats().Passes {
			ctx.Checkpoint()
		}
		tids[1] = unix.Gettid()
		finished.Set()
	})
	CoSchedule(co)
	if !finished.WaitTimeout(10 * time.Second) {
		t.Fatal("the coroutine calling Checkpoint did not finish within 10s")
	}
	if after == before || tids[0] != it.Tid() || tids[1] != it.Tid() {
		t.Errorf("Checkpoint in a coroutine: passes %d -> %d, threads %d and %d; want a pass, on the iothread %d throughout", before, after, tids[0], tids[1], it.Tid())
	}
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
	testcheck.Panics(t, "after Close", ctx.Checkpoint)
}
