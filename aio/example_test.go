package aio_test

import (
	"fmt"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
)

// An iothread runs a coroutine that another thread scheduled onto it. The
// coroutine yields; a wake-up from outside any context schedules it again,
// and the iothread's owner resumes it on the same OS thread.
func Example() {
	it, err := aio.NewIOThread(affinity.CPUSet{}) // unpinned: pass a set to pin it
	if err != nil {
		panic(err)
	}
	var yielded, finished aio.Event
	co := it.Context().NewCoroutine(func(self *coroutine.Coroutine) {
		fmt.Println("entered on the iothread:", self.Home().Thread().OnOwner())
		yielded.Set()
		self.Yield()
		fmt.Println("resumed on the iothread:", self.Home().Thread().OnOwner())
		finished.Set()
	})
	fmt.Println("this goroutine is the iothread:", it.Context().Thread().OnOwner())
	aio.CoSchedule(co) // from here: the iothread's owner enters co
	yielded.Wait()

	var here *aio.AioContext // this goroutine runs on no context
	here.CoWake(co)          // so CoWake schedules co on its home
	finished.Wait()

	if err := it.Join(); err != nil { // stops the iothread; reports work left undone
		panic(err)
	}
	fmt.Println("finished:", co.Finished())
	// Output:
	// this goroutine is the iothread: false
	// entered on the iothread: true
	// resumed on the iothread: true
	// finished: true
}

// Run runs a function on the iothread and waits for it, as QEMU's tests
// do with their ctx_run.
func ExampleIOThread_Run() {
	it, err := aio.NewIOThread(affinity.CPUSet{})
	if err != nil {
		panic(err)
	}
	defer it.Join()
	var onOwner bool
	if err := it.Run(func() { onOwner = it.Context().Thread().OnOwner() }); err != nil {
		panic(err)
	}
	fmt.Println("ran on the iothread:", onOwner)
	// Output: ran on the iothread: true
}
