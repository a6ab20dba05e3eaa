package report

import (
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
)

// A matrix cell from 30 to 90 ns between repetitions is flagged unstable.
func TestMatrixWarningsUnstable(t *testing.T) {
	m := matrix.New([]int{0, 1})
	m.Classify(func(a, b int) affinity.Class { return affinity.LLC })
	m.Set(0, 1, 30, 31, 32, 33, 90)
	m.Set(1, 0, 30, 31, 32, 33, 90)
	if _, ok := kinds((Thresholds{}).MatrixWarnings(m, nil))[WarnUnstable]; !ok {
		t.Error("no unstable warning for a cell from 30 to 90 ns")
	}
}
