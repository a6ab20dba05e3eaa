package bench_test

import (
	"testing"

	"github.com/pinbench/pinbench/bench"
)

// benchmarkChanHandoff hands an int from one pinned thread to the other
// and back through two buffered channels: one op is one round trip. In a
// _test.go file of your own module it is BenchmarkChanHandoff, and
//
//	go test -run '^$' -bench ChanHandoff -count 6 | tee new.txt
//	go tool benchstat -col /place new.txt
//
// compares it across the placement classes of the machine.
func benchmarkChanHandoff(b *testing.B) {
	bench.Placements(b, func(b *testing.B) bench.Sides {
		ping, pong := make(chan int, 1), make(chan int, 1)
		return bench.Sides{
			A: func(stop bench.Stop) error {
				for i := range b.N {
					ping <- i // never blocks: B has taken the last one
					select {
					case <-pong:
					case <-stop.Done(): // B failed, or the watchdog fired
						return nil
					}
				}
				return nil
			},
			B: func(stop bench.Stop) error {
				for range b.N {
					select {
					case v := <-ping:
						pong <- v
					case <-stop.Done():
						return nil
					}
				}
				return nil
			},
		}
	})
}

// A buffered channel handoff between two pinned threads, at every
// placement class this machine has (sub-benchmarks place=samecpu,
// place=smt, ..., place=unpinned; the classes it lacks are skipped with
// the reason).
func Example_channelHandoff() {
	testing.Benchmark(benchmarkChanHandoff) // what go test -bench does with BenchmarkChanHandoff
}
