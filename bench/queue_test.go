package bench

import (
	"fmt"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// queueVariants are the implementations compared: the project's queue at
// both paddings, then what a Go programmer would otherwise use.
var queueVariants = []struct {
	impl string
	pad  int // 0: no pad part in the name
}{{"mpsc", 128}, {"mpsc", 64}, {"chan", 0}, {"mutex", 0}}

func queueName(impl string, pad int) string {
	if pad == 0 {
		return "impl=" + impl
	}
	return fmt.Sprintf("impl=%s/pad=%d", impl, pad)
}

// BenchmarkQueue moves items from N pinned producers to one pinned consumer.
// One op is one item delivered (checked for order and uniqueness); items/s
// is the throughput. With one producer, the producer and the consumer sit
// at the class's representative pair; with every other allowed CPU
// producing (place=all, from 3 allowed CPUs; below that one producer is
// already all of them), the consumer takes the last allowed CPU (away from
// CPU 0, which often takes the interrupts) and the others produce, at most
// QueueMaxProducers of them, spread evenly over the allowed CPUs.
func BenchmarkQueue(b *testing.B) {
	for _, v := range queueVariants {
		b.Run(queueName(v.impl, v.pad), func(b *testing.B) {
			b.Run("producers=1", func(b *testing.B) {
				forEachPlacement(b, true, func(b *testing.B, _ affinity.Class, a, c int) {
					benchQueue(b, v.impl, v.pad, a, []int{c})
				})
			})
			all := topo.Allowed.CPUs()
			if len(all) < 3 {
				return // one producer is already every other CPU
			}
			consumer, producers := allProducers(all)
			b.Run(fmt.Sprintf("producers=%d/place=all", len(producers)), func(b *testing.B) {
				planLeaf(b)
				benchQueue(b, v.impl, v.pad, consumer, producers)
			})
		})
	}
}

// QueueMaxProducers caps the producers of BenchmarkQueue's place=all
// variant, so that its cost (and the number of threads it starts) stays
// bounded on machines with hundreds of CPUs; 16 producers already contend
// on the queue head from every corner of a large machine.
const QueueMaxProducers = 16

// allProducers picks place=all's CPUs from the allowed ones (ascending):
// the last as the consumer, and up to QueueMaxProducers of the others,
// evenly spaced so that they span every package and node.
func allProducers(all []int) (consumer int, producers []int) {
	consumer = all[len(all)-1] // avoid CPU 0 for the consumer
	rest := all[:len(all)-1]
	n := min(len(rest), QueueMaxProducers)
	for i := range n {
		producers = append(producers, rest[i*len(rest)/n])
	}
	return consumer, producers
}

func benchQueue(b *testing.B, impl string, pad, consumer int, producers []int) {
	q, err := NewQueueImpl(impl, pad)
	if err != nil {
		b.Fatal(err)
	}
	ensureProcs(b, len(producers)+2)
	b.ReportAllocs()
	run, err := RunQueue(q, consumer, producers, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(run.Elapsed.Nanoseconds())/float64(run.Items), "ns/op")
	b.ReportMetric(float64(run.Items)/run.Elapsed.Seconds(), "items/s")
}

// Every implementation delivers every item exactly once and in each
// producer's order, from several producers at once.
func TestQueueImplsDeliverInOrder(t *testing.T) {
	items := 20000
	if *long {
		items = 2000000
	}
	for _, v := range queueVariants {
		t.Run(queueName(v.impl, v.pad), func(t *testing.T) {
			q, err := NewQueueImpl(v.impl, v.pad)
			if err != nil {
				t.Fatal(err)
			}
			run, err := RunQueue(q, Unpinned, []int{Unpinned, Unpinned, Unpinned}, items)
			if err != nil {
				t.Fatal(err)
			}
			if run.Items < items {
				t.Fatalf("delivered %d items, want at least %d", run.Items, items)
			}
		})
	}
}

func TestNewQueueImplRejectsBadInput(t *testing.T) {
	if _, err := NewQueueImpl("mpsc", 32); err == nil {
		t.Error("mpsc with 32-byte padding: no error")
	}
	if _, err := NewQueueImpl("ring", 0); err == nil {
		t.Error("unknown implementation: no error")
	}
}
