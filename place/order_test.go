package place

import (
	"fmt"
	"testing"
)

func TestOrders(t *testing.T) {
	topo := capture(t, "two-socket-smt") // siblings n and n+8, CPU 15 offline
	for _, tc := range []struct {
		name string
		got  []int
		want string
	}{
		{"canonical", canonicalOrder(topo, topo.Online), "[0 8 1 9 2 10 3 11 4 12 5 13 6 14 7]"},
		{"compact", compactOrder(topo, topo.Online), "[0 8 1 9 2 10 3 11 4 12 5 13 6 14 7]"},
		{"spread", spreadOrder(topo, topo.Online), "[0 4 1 5 2 6 3 7 8 12 9 13 10 14 11]"},
	} {
		if got := fmt.Sprint(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	split := capture(t, "numa-split-package") // nodes 0-3 and 4-7, an L3 per 2 cores
	if got := fmt.Sprint(spreadOrder(split, split.Online)); got != "[0 4 2 6 1 5 3 7]" {
		t.Errorf("spread over nodes then L3s: %s, want [0 4 2 6 1 5 3 7]", got)
	}
}
