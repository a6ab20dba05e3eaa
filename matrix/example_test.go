package matrix_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
)

// Reading the grid CSV that core-to-core latency tools write, and writing
// it back: empty cells (the diagonal) are not measured.
func ExampleReadCSV() {
	in := `cpu,0,1,2
0,,31.5,98
1,31.2,,97.4
2,98.3,97.9,
`
	m, err := matrix.ReadCSV(strings.NewReader(in))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("CPUs:", m.CPUs, "0->1:", m.At(0, 1), "ns, 0->0:", m.At(0, 0))
	if err := m.WriteCSV(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// CPUs: [0 1 2] 0->1: 31.5 ns, 0->0: NaN
	// cpu,0,1,2
	// 0,,31.5,98.0
	// 1,31.2,,97.4
	// 2,98.3,97.9,
}

// A measurement fills the matrix pair by pair; the long CSV keeps each
// cell's class and samples, which the grid form drops.
func ExampleMatrix_WriteLongCSV() {
	m := matrix.New([]int{0, 1})
	m.Set(0, 1, 31, 30, 33)
	m.Set(1, 0, 32.5)
	m.Classify(func(a, b int) affinity.Class { return affinity.SMT })
	if err := m.WriteLongCSV(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// from,to,class,median_ns,samples_ns
	// 0,1,smt,31,30 31 33
	// 1,0,smt,32.5,32.5
}
