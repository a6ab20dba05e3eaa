package aio

import (
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// itemQueue is what the tests need of Queue[Item] and Queue64[Item].
type itemQueue interface {
	Push(*Item) bool
	TakeAll() *Item
	Drain(func(*Item)) int
	Empty() bool
}

func queues() map[string]func() itemQueue {
	return map[string]func() itemQueue{
		"pad=128": func() itemQueue { return NewItemQueue() },
		"pad=64":  func() itemQueue { return NewItemQueue64() },
	}
}

func TestQueuePadding(t *testing.T) {
	check := func(name string, headOff, size, pad uintptr) {
		t.Helper()
		// The link function (8 bytes) comes first, then pad, head, pad.
		if before := headOff - 8; before < pad {
			t.Errorf("%s: %d bytes before the head, want at least %d", name, before, pad)
		}
		if after := size - headOff - 8; after < pad {
			t.Errorf("%s: %d bytes after the head, want at least %d", name, after, pad)
		}
	}
	var q Queue[Item]
	check("Queue", unsafe.Offsetof(q.head), unsafe.Sizeof(q), CacheLinePad)
	var q64 Queue64[Item]
	check("Queue64", unsafe.Offsetof(q64.head), unsafe.Sizeof(q64), CacheLinePad64)
}

func TestQueueFIFO(t *testing.T) {
	for name, mk := range queues() {
		t.Run(name, func(t *testing.T) {
			q := mk()
			if !q.Empty() || q.TakeAll() != nil {
				t.Fatal("new queue not empty")
			}
			items := make([]Item, 10)
			for i := range items {
				items[i].Seq = uint64(i)
				if wasEmpty := q.Push(&items[i]); wasEmpty != (i == 0) {
					t.Errorf("push %d: wasEmpty %v", i, wasEmpty)
				}
			}
			var got []uint64
			for it := q.TakeAll(); it != nil; it = ItemLink(it).Load() {
				got = append(got, it.Seq)
			}
			for i, s := range got {
				if s != uint64(i) {
					t.Fatalf("TakeAll order %v, want 0..9", got)
				}
			}
			if len(got) != 10 || !q.Empty() {
				t.Fatalf("took %d items, queue empty %v", len(got), q.Empty())
			}
			// Drain: FIFO, links cleared, and fn may push the item again
			// (it lands in the next batch).
			for i := range items {
				q.Push(&items[i])
			}
			got = got[:0]
			n := q.Drain(func(it *Item) {
				if ItemLink(it).Load() != nil {
					t.Errorf("item %d handed to fn with its link set", it.Seq)
				}
				got = append(got, it.Seq)
				if it.Seq == 3 {
					q.Push(it)
				}
			})
			if n != 10 || len(got) != 10 || got[9] != 9 {
				t.Fatalf("Drain took %d: %v", n, got)
			}
			if n := q.Drain(func(it *Item) {
				if it.Seq != 3 {
					t.Errorf("second drain got %d, want 3", it.Seq)
				}
			}); n != 1 {
				t.Fatalf("second drain took %d, want 1", n)
			}
		})
	}
}

func TestQueueDrainPanicRequeues(t *testing.T) {
	q := NewItemQueue()
	items := make([]Item, 5)
	for i := range items {
		items[i].Seq = uint64(i)
		q.Push(&items[i])
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		q.Drain(func(it *Item) {
			if it.Seq == 1 {
				panic("boom")
			}
		})
	}()
	var got []uint64
	q.Drain(func(it *Item) { got = append(got, it.Seq) })
	if len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Fatalf("after the panic the queue held %v, want [2 3 4]", got)
	}
}

// TestQueueProducers runs many producers, each locked to a pinned OS
// thread, against one consumer: every item must arrive exactly once, and
// each producer's items in the order it pushed them.
func TestQueueProducers(t *testing.T) {
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	cpus := allowed.CPUs()
	producers, perProducer := quickOrSlow(8, 16), quickOrSlow(20000, 500000)
	if testing.Short() {
		perProducer = 2000
	}
	for name, mk := range queues() {
		t.Run(name, func(t *testing.T) {
			leakcheck.Check(t)
			q := mk()
			items := make([][]Item, producers)
			for p := range items {
				items[p] = make([]Item, perProducer)
				for i := range items[p] {
					items[p][i] = Item{Producer: int32(p), Seq: uint64(i)}
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, producers)
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Pinned and locked; the goroutine ends locked, so its
					// thread ends with it.
					if err := affinity.PinThread(affinity.NewCPUSet(cpus[p%len(cpus)])); err != nil {
						errs <- err
						return
					}
					for i := range items[p] {
						q.Push(&items[p][i])
					}
				}()
			}
			next := make([]uint64, producers)
			total, want := 0, producers*perProducer
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			check := func(it *Item) {
				if it.Seq != next[it.Producer] {
					t.Fatalf("producer %d: got item %d, want %d (lost, duplicated or reordered)", it.Producer, it.Seq, next[it.Producer])
				}
				next[it.Producer]++
				total++
			}
			for done := false; !done; {
				select {
				case <-finished:
					done = true
				default:
				}
				q.Drain(check) // after finished: the last drain sees every push
			}
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if total != want {
				t.Fatalf("received %d items, want %d", total, want)
			}
			if !q.Empty() {
				t.Fatal("queue not empty at the end")
			}
		})
	}
}

func TestEvent(t *testing.T) {
	var e Event
	if e.IsSet() {
		t.Fatal("zero Event is set")
	}
	e.Set()
	e.Wait() // returns at once
	if e.Wakes() != 0 {
		t.Fatalf("Set with no waiter issued %d wakes", e.Wakes())
	}
	e.Reset()
	if e.IsSet() {
		t.Fatal("Reset did not reset")
	}
	const waiters = 4
	var wg sync.WaitGroup
	var woke [waiters]bool
	for i := range waiters {
		wg.Add(1)
		go func() { defer wg.Done(); e.Wait(); woke[i] = true }()
	}
	// Let them sleep, most likely; Set must wake them either way.
	for e.v.Load() != eventBusy {
		runtimeGosched()
	}
	e.Set()
	wg.Wait()
	for i, w := range woke {
		if !w {
			t.Errorf("waiter %d did not wake", i)
		}
	}
	if e.Wakes() != 1 {
		t.Errorf("one Set with sleepers issued %d wakes, want 1", e.Wakes())
	}
}

func TestWaitModeNames(t *testing.T) {
	for _, m := range []WaitMode{WaitAdaptive, WaitPoll, WaitBlock} {
		got, err := ParseWaitMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseWaitMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseWaitMode("spin"); err == nil || !strings.Contains(err.Error(), `"spin"`) {
		t.Errorf("ParseWaitMode(spin) error %v", err)
	}
}

// WaitTimeout returns false on an event nobody sets, true at once on a set
// one, and true when another goroutine sets it during the wait.
func TestEventWaitTimeout(t *testing.T) {
	var e Event
	if e.WaitTimeout(time.Millisecond) {
		t.Fatal("WaitTimeout on an unset event reported set")
	}
	if e.WaitTimeout(0) {
		t.Fatal("WaitTimeout(0) on an unset event reported set")
	}
	go func() {
		time.Sleep(5 * time.Millisecond)
		e.Set()
	}()
	if !e.WaitTimeout(time.Minute) {
		t.Fatal("WaitTimeout missed a Set made during the wait")
	}
	if !e.WaitTimeout(0) {
		t.Fatal("WaitTimeout(0) on a set event reported unset")
	}
}
