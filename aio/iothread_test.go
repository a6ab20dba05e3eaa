package aio

import (
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

func TestIOThreadLifecycle(t *testing.T) {
	checkLeaks(t)
	it, err := NewIOThread(affinity.CPUSet{})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	it.Run(func() { ran = true })
	if !ran {
		t.Fatal("Run returned before fn ran")
	}
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
}
