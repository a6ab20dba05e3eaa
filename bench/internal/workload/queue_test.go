package workload

import (
	"fmt"
	"testing"

	"github.com/pinbench/pinbench/internal/harness"
)

// Every implementation delivers every item exactly once and in each
// producer's order, from several producers at once.
func TestQueueImplsDeliverInOrder(t *testing.T) {
	items := 20000
	if *long {
		items = 2000000
	}
	for _, v := range []struct {
		impl string
		pad  int
	}{{"mpsc", 128}, {"mpsc", 64}, {"chan", 0}, {"mutex", 0}} {
		t.Run(fmt.Sprintf("impl=%s/pad=%d", v.impl, v.pad), func(t *testing.T) {
			q, err := NewQueueImpl(v.impl, v.pad)
			if err != nil {
				t.Fatal(err)
			}
			run, err := RunQueue(q, harness.Unpinned, []int{harness.Unpinned, harness.Unpinned, harness.Unpinned}, items, nil)
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
