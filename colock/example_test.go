package colock_test

import (
	"fmt"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/colock"
)

// Coroutines on two iothreads share a counter under a CoMutex. A coroutine
// that finds the lock taken sleeps on its own iothread; the unlocker hands
// the lock over through aio.CoSchedule.
func Example() {
	var (
		m       colock.CoMutex
		counter int
		done    aio.Event
		left    = 2
	)
	var threads []*aio.IOThread
	for range 2 {
		it, err := aio.NewIOThread(affinity.CPUSet{}) // unpinned
		if err != nil {
			panic(err)
		}
		defer it.Join()
		threads = append(threads, it)
	}
	for _, it := range threads {
		co := it.Context().NewCoroutine(colock.Entry(func(self *colock.Self) {
			for range 1000 {
				m.Lock(self)
				counter++
				m.Unlock(self)
			}
			m.Lock(self)
			if left--; left == 0 {
				done.Set()
			}
			m.Unlock(self)
		}))
		aio.CoSchedule(co)
	}
	if !done.WaitTimeout(10 * time.Second) {
		panic("the coroutines did not finish")
	}
	fmt.Println(counter)
	// Output: 2000
}
