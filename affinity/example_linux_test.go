//go:build linux

package affinity_test

import (
	"fmt"

	"github.com/pinbench/pinbench/affinity"
)

// PinThread's usual shape: pin a goroutine of its own, work there, and let
// the goroutine exit, which ends its OS thread and with it the narrowed
// affinity.
func ExamplePinThread() {
	topo, err := affinity.Discover()
	if err != nil {
		panic(err)
	}
	cpu := topo.Allowed.First()
	onIt := make(chan bool)
	go func() {
		if err := affinity.PinThread(affinity.NewCPUSet(cpu)); err != nil {
			panic(err)
		}
		onIt <- affinity.CurrentCPU() == cpu // work on the pinned CPU
	}() // the thread ends here; never UnlockOSThread a pinned goroutine
	fmt.Println("ran on the CPU it was pinned to:", <-onIt)
	// Output: ran on the CPU it was pinned to: true
}
