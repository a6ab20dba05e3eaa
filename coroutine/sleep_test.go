package coroutine

import (
	"github.com/pinbench/pinbench/internal/testcheck"
	"slices"
	"testing"
)

// A sleeper is claimed by exactly one party; a claimant that gives it back
// lets the next claim succeed; once it runs again it leaves the sleepers.
func TestSleepClaim(t *testing.T) {
	th := newThread(t)
	co := th.New(func(self *Coroutine) {
		if _, ok := self.Sleep("test.sleep"); !ok {
			t.Error("Sleep refused a coroutine that was not scheduled")
		}
		self.Yield()
		self.Awake()
	})
	th.Enter(co)
	if where, ok := co.Scheduled(); !ok || where != "test.sleep" || co.SleepWhere() != "test.sleep" {
		t.Fatalf("asleep: Scheduled %q %v, SleepWhere %q; want test.sleep", where, ok, co.SleepWhere())
	}
	testcheck.Panics(t, "already scheduled in 'test.sleep'", func() { th.Enter(co) })
	if !co.Claim() || co.Claim() {
		t.Fatal("want the first claim to win and the second to fail")
	}
	co.Unclaim()
	testcheck.Panics(t, "which is scheduled in 'test.sleep'", co.Unclaim)
	if !co.Claim() {
		t.Fatal("the claim after Unclaim failed")
	}
	th.Enter(co) // woken by its claimant
	if !co.Finished() || len(th.TakeSleepers()) != 0 {
		t.Fatal("the woken sleeper did not finish, or stayed among the sleepers")
	}
	if co.Claim() {
		t.Fatal("a claim of a finished coroutine succeeded")
	}
}

// TakeSleepers lists the sleepers oldest first and forgets them; Destroy
// of a sleeper takes it off the list.
func TestTakeSleepers(t *testing.T) {
	th := newThread(t)
	sleeper := func() *Coroutine {
		co := th.New(func(self *Coroutine) {
			self.Sleep("test.sleepers")
			self.Yield()
		})
		th.Enter(co)
		return co
	}
	a, b, c := sleeper(), sleeper(), sleeper()
	if !b.Claim() {
		t.Fatal("claim of b failed")
	}
	th.Destroy(b)
	if got := th.TakeSleepers(); !slices.Equal(got, []*Coroutine{a, c}) {
		t.Fatalf("sleepers %p, want a and c (%p %p)", got, a, c)
	}
	if got := th.TakeSleepers(); len(got) != 0 {
		t.Fatalf("sleepers %p after they were taken", got)
	}
	for _, co := range []*Coroutine{a, c} {
		if !co.Claim() {
			t.Fatalf("claim of %p failed", co)
		}
		th.Destroy(co)
	}
	testcheck.Panics(t, "outside its own running body", func() { a.Sleep("test.sleepers") })
}

// Issue 20: the coroutines a panicking coroutine woke (WakeAfterYield) are
// entered before its panic reaches the enterer; a wake-up may carry a lock
// that nobody else would hand on. They used to be forgotten.
func TestPanicRunsWakeUps(t *testing.T) {
	th := newThread(t)
	ran := false
	woken := th.New(func(self *Coroutine) { self.Yield(); ran = true })
	th.Enter(woken)
	panicker := th.New(func(self *Coroutine) {
		th.WakeAfterYield(woken)
		panic("boom")
	})
	testcheck.Panics(t, "boom", func() { th.Enter(panicker) })
	if !ran || !woken.Finished() || th.Current() != nil {
		t.Fatalf("woken ran %v, finished %v, current %p: want the wake-up entered before the panic", ran, woken.Finished(), th.Current())
	}
	// One of them panics too: the first panic goes on, the rest are
	// forgotten and can be woken again.
	later := th.New(func(self *Coroutine) { self.Yield() })
	th.Enter(later)
	panicker = th.New(func(self *Coroutine) {
		th.WakeAfterYield(th.New(func(*Coroutine) { panic("second") }))
		th.WakeAfterYield(later)
		panic("first")
	})
	if v := testcheck.Panics(t, "first", func() { th.Enter(panicker) }); v != "first" {
		t.Fatalf("panic %v, want the first", v)
	}
	if later.wakeQueued {
		t.Fatal("the wake-up behind the second panic is still queued")
	}
	th.Enter(later)
	if !later.Finished() {
		t.Fatal("the forgotten wake-up could not be woken again")
	}
}
