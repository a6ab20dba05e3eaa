package coroutine_test

import (
	"fmt"

	"github.com/pinbench/pinbench/coroutine"
)

// A coroutine yields back to its enterer; entering it again resumes it.
func Example() {
	th := coroutine.NewThread() // on the goroutine that owns the thread
	defer th.Close()

	co := th.New(func(self *coroutine.Coroutine) {
		fmt.Println("step 1")
		self.Yield()
		fmt.Println("step 2")
	})
	th.Enter(co)
	fmt.Println("yielded, finished:", co.Finished())
	th.Enter(co)
	fmt.Println("finished:", co.Finished())
	// Output:
	// step 1
	// yielded, finished: false
	// step 2
	// finished: true
}

// WakeAfterYield defers entering another coroutine until the running one
// yields (QEMU's co_queue_wakeup).
func ExampleThread_WakeAfterYield() {
	th := coroutine.NewThread()
	defer th.Close()

	waiter := th.New(func(self *coroutine.Coroutine) {
		fmt.Println("waiter runs")
	})
	waker := th.New(func(self *coroutine.Coroutine) {
		th.WakeAfterYield(waiter)
		fmt.Println("waker yields")
		self.Yield()
	})
	th.Enter(waker)
	th.Enter(waker) // let it finish
	// Output:
	// waker yields
	// waiter runs
}
