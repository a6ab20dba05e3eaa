package bench

import "testing"

// BenchmarkQueue moves items from N pinned producers to one pinned consumer.
// One op is one item delivered (checked for order and uniqueness); items/s
// is the throughput. With one producer, the producer and the consumer sit
// at the class's representative pair; with every other allowed CPU
// producing (place=all, from 3 allowed CPUs; below that one producer is
// already all of them), the consumer takes the last allowed CPU (away from
// CPU 0, which often takes the interrupts) and the others produce, at most
// queueMaxProducers of them, spread evenly over the allowed CPUs.
func BenchmarkQueue(b *testing.B) { runFamily(b) }
