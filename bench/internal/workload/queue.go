package workload

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/harness"
)

// QueueRing is how many items each producer of the queue benchmark owns
// and recycles: an item goes back to its producer once the consumer has
// checked it, so memory stays bounded whatever b.N is, and every
// implementation moves the same thing (a pointer to a recycled item).
const QueueRing = 256

// QueueItem is what the queue benchmark moves from producers to the
// consumer.
//
// Ownership: the producer writes Producer and Seq, then pushes; the consumer
// reads them and then sets Free; the producer reuses the item only after
// seeing Free. link belongs to the project's queue (written by Push, read by
// TakeAll).
type QueueItem struct {
	link     atomic.Pointer[QueueItem]
	Producer int
	Seq      int64
	// Free is true while the producer may reuse the item. The consumer's
	// Store(true) comes after its last read of Producer and Seq and
	// synchronizes before the producer's Load that sees true, which comes
	// before the producer writes them again, so the fields never race.
	Free atomic.Bool
}

func queueItemLink(it *QueueItem) *atomic.Pointer[QueueItem] { return &it.link }

// QueueImpl is one way to move items from many producers to one consumer:
// the project's lock-free queue at two paddings, a buffered channel, or a
// mutex-guarded slice.
type QueueImpl interface {
	// Push hands it to the consumer; any producer may call it.
	Push(it *QueueItem)
	// Take delivers every item available now to fn in order and returns
	// how many there were; only the consumer calls it. The channel's Take
	// blocks until an item comes, as a Go programmer's receive would; if
	// no producer ever sends, the harness's watchdog reports the stall and
	// abandons the consumer. The others return at once when empty.
	Take(stop *harness.Stop, fn func(*QueueItem)) int
}

// NewQueueImpl returns the implementation named impl ("mpsc", "chan",
// "mutex"); pad (64 or 128) applies to mpsc only.
func NewQueueImpl(impl string, pad int) (QueueImpl, error) {
	switch impl {
	case "mpsc":
		switch pad {
		case 128:
			return &mpscImpl[[aio.CacheLinePad]byte]{q: aio.NewQueue[QueueItem, [aio.CacheLinePad]byte](queueItemLink)}, nil
		case 64:
			return &mpscImpl[[aio.CacheLinePad64]byte]{q: aio.NewQueue[QueueItem, [aio.CacheLinePad64]byte](queueItemLink)}, nil
		}
		return nil, fmt.Errorf("queue padding %d bytes: want 64 or 128", pad)
	case "chan":
		return chanImpl(make(chan *QueueItem, QueueRing)), nil
	case "mutex":
		return &mutexImpl{}, nil
	}
	return nil, fmt.Errorf("unknown queue implementation %q: want mpsc, chan or mutex", impl)
}

type mpscImpl[P aio.Padding] struct {
	q *aio.PaddedQueue[QueueItem, P]
}

// Push pushes it on the lock-free queue.
func (m *mpscImpl[P]) Push(it *QueueItem) { m.q.Push(it) }

// Take drains the queue in push order.
func (m *mpscImpl[P]) Take(_ *harness.Stop, fn func(*QueueItem)) int {
	return m.q.Drain(fn)
}

type chanImpl chan *QueueItem

// Push sends it.
func (c chanImpl) Push(it *QueueItem) { c <- it }

// Take receives one item, then every item waiting.
func (c chanImpl) Take(stop *harness.Stop, fn func(*QueueItem)) int {
	// A plain receive is what a Go programmer would write; when a producer
	// stalls, the watchdog reports it and this goroutine is abandoned.
	fn(<-c)
	n := 1
	for {
		select {
		case it := <-c:
			fn(it)
			n++
		default:
			return n
		}
	}
}

type mutexImpl struct {
	mu    sync.Mutex
	items []*QueueItem // guarded by mu
	spare []*QueueItem // consumer only
}

// Push appends it under the lock.
func (m *mutexImpl) Push(it *QueueItem) {
	m.mu.Lock()
	m.items = append(m.items, it)
	m.mu.Unlock()
}

// Take swaps the slice out under the lock and delivers it.
func (m *mutexImpl) Take(_ *harness.Stop, fn func(*QueueItem)) int {
	m.mu.Lock()
	got := m.items
	m.items = m.spare[:0]
	m.mu.Unlock()
	for _, it := range got {
		fn(it)
	}
	m.spare = got
	return len(got)
}

// QueueRun is the outcome of one RunQueue.
type QueueRun struct {
	// Elapsed runs from the moment every side is ready until the consumer
	// has taken the last item.
	Elapsed time.Duration
	Items   int
}

// RunQueue moves items from producers (one per CPU in producerCPUs) to one
// consumer on consumerCPU through impl, checking that every item arrives
// exactly once and in its producer's order. onClock, when set, is called
// on the consumer's thread where the clock starts, once every side is on
// its thread.
func RunQueue(impl QueueImpl, consumerCPU int, producerCPUs []int, items int, onClock harness.ClockStart) (QueueRun, error) {
	np := len(producerCPUs)
	per := (items + np - 1) / np
	r := &queueRun{impl: impl, producers: np, per: per, total: per * np, onClock: onClock}
	sides := []harness.Side{{Name: "consumer", CPU: consumerCPU, Progress: &r.progress, Run: r.consume}}
	for p, cpu := range producerCPUs {
		sides = append(sides, harness.Side{Name: fmt.Sprintf("producer %d", p), CPU: cpu, Run: func(stop *harness.Stop) error {
			return r.produce(p, stop)
		}})
	}
	timeout, err := harness.StallTimeout()
	if err != nil {
		return r.run, err
	}
	err = harness.RunSides(timeout, sides...)
	return r.run, err
}

// queueRun is one RunQueue: its settings, read by every side, the start
// barrier, and the consumer's progress and outcome.
type queueRun struct {
	impl      QueueImpl
	producers int // how many
	per       int // items each producer pushes
	total     int // items the consumer takes
	onClock   harness.ClockStart
	ready     atomic.Int32     // the start barrier: sides on their threads
	progress  harness.Progress // items taken, for the watchdog
	run       QueueRun         // the consumer's, read after RunSides
}

// start is the start barrier: every side's Add synchronizes before the
// Loads that see producers+1, so no side starts before all are on their
// threads.
func (r *queueRun) start(stop *harness.Stop) error {
	r.ready.Add(1)
	for int(r.ready.Load()) != r.producers+1 {
		if stop.Load() {
			return harness.ErrAborted
		}
	}
	return nil
}

// consume is the consumer: it takes every item, checking each producer's
// order, and hands each item back to its producer.
func (r *queueRun) consume(stop *harness.Stop) error {
	next := make([]int64, r.producers)
	var bad error
	check := func(it *QueueItem) {
		if it.Seq != next[it.Producer] && bad == nil {
			bad = fmt.Errorf("item %d of producer %d arrived when %d was expected (lost, duplicated or reordered)", it.Seq, it.Producer, next[it.Producer])
		}
		next[it.Producer] = it.Seq + 1
		it.Free.Store(true)
	}
	if err := r.start(stop); err != nil {
		return err
	}
	r.onClock.Call()
	t0 := time.Now()
	for got := 0; got < r.total; {
		got += r.impl.Take(stop, check)
		r.progress.Set(int64(got))
		if stop.Load() {
			return harness.ErrAborted
		}
	}
	r.run = QueueRun{Elapsed: time.Since(t0), Items: r.total}
	return bad
}

// produce is producer p: it pushes its items in order, each from its ring
// of QueueRing, reusing an item once the consumer has freed it.
func (r *queueRun) produce(p int, stop *harness.Stop) error {
	ring := make([]QueueItem, QueueRing)
	for i := range ring {
		ring[i].Producer = p
		ring[i].Free.Store(true)
	}
	if err := r.start(stop); err != nil {
		return err
	}
	for s := 0; s < r.per; s++ {
		it := &ring[s%QueueRing]
		for !it.Free.Load() {
			if stop.Load() {
				return harness.ErrAborted
			}
		}
		it.Free.Store(false)
		it.Seq = int64(s)
		r.impl.Push(it)
	}
	return nil
}
