package bench

import (
	"testing"

	"github.com/pinbench/pinbench/internal/harness"
)

// BenchmarkQueue moves items from N pinned producers to one pinned consumer.
// One op is one item delivered (checked for order and uniqueness); items/s
// is the throughput. With one producer, the producer and the consumer sit
// at the class's representative pair; with every other allowed CPU
// producing (place=all, from 3 allowed CPUs; below that one producer is
// already all of them), the consumer takes the last allowed CPU (away from
// CPU 0, which often takes the interrupts) and the others produce, at most
// QueueMaxProducers of them, spread evenly over the allowed CPUs.
func BenchmarkQueue(b *testing.B) { runFamily(b) }

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
			run, err := RunQueue(q, harness.Unpinned, []int{harness.Unpinned, harness.Unpinned, harness.Unpinned}, items)
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
