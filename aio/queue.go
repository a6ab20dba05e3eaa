package aio

import (
	"sync/atomic"

	"github.com/pinbench/pinbench/internal/cacheline"
)

// CacheLinePad is the padding, in bytes, that keeps a contended word alone:
// 128, a pair of 64-byte lines, because x86-64's adjacent-line prefetcher
// fetches lines in pairs (internal/cacheline says more). It is exported
// as the padding a [PaddedQueue] is instantiated with; the benchmarks
// compare it with 64 bytes through [Queue] and [Queue64].
const CacheLinePad = cacheline.Pad

// CacheLinePad64 is the plain x86-64 cache-line size, the padding of
// [Queue64], kept so benchmarks can compare it with [CacheLinePad].
const CacheLinePad64 = cacheline.Size64

// Padding is the set of padding widths a [PaddedQueue] may use.
type Padding interface {
	[CacheLinePad64]byte | [CacheLinePad]byte
}

// Queue is the lock-free multi-producer, single-consumer queue of the seed
// (QEMU's QSLIST_INSERT_HEAD_ATOMIC + QSLIST_MOVE_ATOMIC), with its head
// padded to [CacheLinePad] bytes on either side.
type Queue[T any] = PaddedQueue[T, [CacheLinePad]byte]

// Queue64 is [Queue] with its head padded to 64 bytes on either side, for
// benchmarks that compare the two paddings.
type Queue64[T any] = PaddedQueue[T, [CacheLinePad64]byte]

// PaddedQueue is an intrusive lock-free multi-producer, single-consumer
// queue of *T. The link lives inside the item (an atomic.Pointer[T] that
// [NewQueue]'s link function returns), so a push allocates nothing.
//
// Producers push onto a LIFO stack (a Treiber stack) with compare-and-swap.
// The single consumer takes the whole stack with one atomic swap and
// reverses it, so items come out in FIFO order: per producer, in the order
// that producer pushed them; across producers, in the order their
// compare-and-swaps succeeded.
//
// Who may call what:
//   - [PaddedQueue.Push]: any goroutine, concurrently. An item must not be
//     pushed again until the consumer has taken it out (pushing an item
//     that is already queued corrupts the list; the aio users guard this
//     with a flag: BH_PENDING for bottom halves, MarkScheduled for
//     coroutines).
//   - [PaddedQueue.TakeAll], [PaddedQueue.Drain]: the single consumer only.
//     Two concurrent consumers are a programming error (nothing breaks
//     in the list, but each gets part of the items in no useful order).
//   - [PaddedQueue.Empty]: any goroutine; a hint that may be stale at once.
//   - [PaddedQueue.Close]: the single consumer, once, when it will take no
//     more: it takes what is queued and makes every later push fail
//     ([PaddedQueue.TryPush] reports it, Push panics), so nothing pushed
//     can be lost unseen.
//
// A push synchronizes before the TakeAll, Drain or Close that takes its
// item: what the producer wrote into the item before pushing it, the
// consumer sees.
type PaddedQueue[T any, P Padding] struct {
	// link returns the item's intrusive link. Set once by NewQueue and
	// read-only afterwards, so it may share a line with whatever precedes
	// the queue: readers of a line that nobody writes do not contend.
	link func(*T) *atomic.Pointer[T]
	// closed is the head's value once the consumer has closed the queue:
	// a private item no producer can hold, allocated by Init. Read-only
	// after Init, like link.
	closed *T

	_ P
	// head is the top of the LIFO stack: the item pushed last, whose link
	// leads to the one pushed before it, down to nil. Written by producers
	// (CompareAndSwap) and by the consumer (Swap to nil).
	head atomic.Pointer[T]
	_    P
}

// NewQueue returns an empty queue whose items are linked through link,
// which must return a pointer to a field inside the item (the same field
// for every call with the same item) that nothing else uses while the item
// is queued. Instantiate it as NewQueue[T, [CacheLinePad]byte] for a
// [Queue] and NewQueue[T, [CacheLinePad64]byte] for a [Queue64]; or use
// [PaddedQueue.Init] on a queue embedded in a larger struct.
func NewQueue[T any, P Padding](link func(*T) *atomic.Pointer[T]) *PaddedQueue[T, P] {
	q := new(PaddedQueue[T, P])
	q.Init(link)
	return q
}

// Init sets up an embedded zero queue to link items through link (see
// [NewQueue]). Call it before the queue is shared with other goroutines.
func (q *PaddedQueue[T, P]) Init(link func(*T) *atomic.Pointer[T]) {
	q.link = link
	q.closed = new(T)
}

// The queue's design, and why it is right.
//
// Ordering: a producer stores the item's link while the item is still
// private to it, then publishes the item with its compare-and-swap on the
// head; the consumer's swap of the head reads that value, so the
// compare-and-swap synchronizes before the swap and the consumer sees every
// link of the list it took (and whatever the producer wrote into the item
// before pushing it). From the swap on, the links are the consumer's.
//
// Why ABA cannot happen: ABA hurts a stack whose consumer pops one item by
// reading head.next and then compare-and-swapping head from the item to
// next; if the item was popped and pushed again in between, next is stale.
// Here the consumer never pops one item: it swaps the whole head for nil
// and never reads a link until it owns the whole list. A producer's
// compare-and-swap only asserts "head is still the value I stored in my
// item's link", and if head went A -> nil -> A meanwhile, A is still the
// current head, so linking the new item to A is still right.
//
// Padding: the head sits alone between two pads of the padding width, so no
// other word shares its cache line (or, at 128 bytes, its adjacent-line
// pair), whatever the alignment of the queue: producers contend on it, and
// nothing else should pay for that.
//
// Fast-path budget, in atomic read-modify-writes (locked instructions on
// x86-64; loads, plain reads there, are not counted):
//   - Push and TryPush: one CompareAndSwap of the head, plus one retry per
//     race lost to another producer or the consumer; a store to the item's
//     link (an exchange on x86-64) only when the link does not hold the
//     head already, which is never the case for a drained item pushed onto
//     an empty queue.
//   - TakeAll: nothing on an empty queue (one load); otherwise one Swap of
//     the head per batch and one Swap of each item's link while reversing.
//   - Drain: TakeAll's, plus one store per item but the newest, clearing
//     its link.
// These are what the seed's handoff costs are made of: do not add an atomic
// operation to them without measuring the queue and handoff benchmarks
// before and after.

// Push adds item to the queue. Any goroutine may call it, concurrently
// with other producers and with the consumer; it never blocks and never
// allocates. It reports whether the queue was empty just before the push,
// so a producer may notify the consumer only on the empty-to-non-empty
// transition when the consumer always drains the whole queue. Pushing onto
// a closed queue panics; use [PaddedQueue.TryPush] where that may happen.
func (q *PaddedQueue[T, P]) Push(item *T) (wasEmpty bool) {
	wasEmpty, ok := q.TryPush(item)
	if !ok {
		panic("aio: Push onto a closed queue (its consumer has stopped)")
	}
	return wasEmpty
}

// TryPush is [PaddedQueue.Push] that reports a closed queue instead of
// panicking: ok is false, and the item was not queued, when the consumer
// has closed the queue.
func (q *PaddedQueue[T, P]) TryPush(item *T) (wasEmpty, ok bool) {
	link := q.link(item)
	old := q.head.Load()
	for {
		// Closed: the consumer's Swap in Close installed the sentinel,
		// and it stays for good. A push whose compare-and-swap succeeded
		// before that Swap is in the list Close returned; one after it
		// sees the sentinel here (its compare-and-swap against an older
		// head fails and reloads), so every push is either taken by the
		// consumer or refused, never lost.
		if old == q.closed {
			return false, false
		}
		// The item is still private to this producer here, so the store
		// races with nobody. It becomes visible to the consumer through
		// the compare-and-swap below, which synchronizes before the
		// consumer's swap that reads the value it installed.
		// Skipped when the link holds old already (a drained item's link
		// is nil): a store is a locked exchange on x86-64. The value
		// loaded was written before this load, so it is just as visible
		// to the consumer as our own store would be.
		if link.Load() != old {
			link.Store(old)
		}
		// Publishes the item: pairs with the consumer's Swap in TakeAll,
		// which reads this value and, with it, the link stored above.
		// Fails only when another producer pushed or the consumer took
		// the list since the load; then the link is rewritten and tried
		// again. The block comment above Push says why ABA is harmless.
		if q.head.CompareAndSwap(old, item) {
			return old == nil, true
		}
		// Ordering: this load only seeds the next compare-and-swap; a
		// stale value just makes it fail and retry.
		old = q.head.Load()
	}
}

// TakeAll removes every item pushed so far and returns the oldest, or nil
// when the queue was empty; follow the items' links (as returned by the
// link function) from it, oldest to newest, until nil. Only the single
// consumer may call it. The returned items belong to the consumer until it
// pushes them again; it must read an item's link before the item can be
// pushed again (see [PaddedQueue.Drain], which does that for you).
func (q *PaddedQueue[T, P]) TakeAll() *T {
	// Fast path: a plain load avoids writing the contended line when there
	// is nothing to take. A stale nil only means the item is taken on the
	// next call, and the producer that pushed it notifies the consumer
	// after its push.
	if h := q.head.Load(); h == nil || h == q.closed {
		return nil
	}
	// Takes the whole LIFO list at once: pairs with the producers'
	// compare-and-swap in Push. Every link in the list was stored before
	// the compare-and-swap that published its item, so the consumer sees
	// every link of the list it took. From here on producers push onto a
	// new, empty list and no one else touches these links.
	return q.reverse(q.head.Swap(nil))
}

// Close takes every item pushed so far, as TakeAll does, and closes the
// queue: from then on every push fails (TryPush reports it, Push panics),
// TakeAll returns nil and Empty reports true. Only the single consumer may
// call it, when it will consume no more; a second Close returns nil.
func (q *PaddedQueue[T, P]) Close() *T {
	// Swap to the sentinel: pairs with the producers' compare-and-swap
	// as TakeAll's Swap does (every link of the list taken is visible),
	// and every later compare-and-swap fails against the sentinel (see
	// TryPush). Only the consumer writes the sentinel, so a plain check
	// first is exact.
	if q.head.Load() == q.closed {
		return nil
	}
	return q.reverse(q.head.Swap(q.closed))
}

// Closed reports whether the consumer has closed the queue. Any goroutine
// may call it; once true it stays true.
func (q *PaddedQueue[T, P]) Closed() bool { return q.head.Load() == q.closed }

// reverse turns the LIFO list from top into FIFO order and returns its
// oldest item. Consumer only, on a list it took.
func (q *PaddedQueue[T, P]) reverse(top *T) *T {
	// Reverse the LIFO list in place into FIFO order. The links are
	// consumer-owned now; atomic loads and stores on them are uncontended.
	var fifo *T
	for top != nil {
		// Swap rather than a load and then a store: the item's line was
		// last written by its producer, on another core, and one
		// read-modify-write fetches it for writing in one coherence
		// transaction where a load would fetch it shared and the store
		// would need a second one (the consumer writes the line anyway:
		// here, and aio's ClearScheduled next to the link).
		next := q.link(top).Swap(fifo)
		fifo = top
		top = next
	}
	return fifo
}

// Drain removes every item pushed so far and calls fn on each, oldest
// first, returning how many it took. Only the single consumer may call it.
// Each item's link is read and cleared before fn sees the item, so fn may
// push the item again (on this queue or another) or hand it to a producer
// that will. Items pushed while Drain runs are left for the next call. If
// fn panics, the items it has not seen are pushed back (behind any pushed
// meanwhile) before the panic continues, so none is lost; waking the
// consumer for them is the caller's business.
func (q *PaddedQueue[T, P]) Drain(fn func(*T)) int {
	n := 0
	it := q.TakeAll()
	defer func() {
		for it != nil { // only when fn panicked
			next := q.link(it).Load()
			q.Push(it)
			it = next
		}
	}()
	for it != nil {
		cur := it
		l := q.link(cur)
		it = l.Load()
		// Clear the link so a drained item does not keep its successor
		// reachable for the garbage collector (the newest item's link is
		// nil already: skip that store, a locked exchange on x86-64).
		if it != nil {
			l.Store(nil)
		}
		n++
		fn(cur)
	}
	return n
}

// Empty reports whether the queue looked empty. Any goroutine may call it;
// the answer may be stale by the time it returns, but a push that
// synchronizes before the call is seen.
func (q *PaddedQueue[T, P]) Empty() bool {
	// Load: one of the total order of atomics (Go's are sequentially
	// consistent), so it reads every compare-and-swap before it in that
	// order; the owner's hasWork relies on it for the store-then-load
	// pairing with CoSchedule (see AioContext.hasWork).
	h := q.head.Load()
	return h == nil || h == q.closed
}
