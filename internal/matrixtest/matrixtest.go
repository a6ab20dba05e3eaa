// Package matrixtest builds the latency matrices that the tests of the
// matrix and report packages share: a virtual machine whose declared
// topology hides SMT siblings, and a two-socket machine with SMT. Both are
// filled from seeded noise, so every call returns the same matrix.
package matrixtest

import (
	"math/rand/v2"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
)

// FakeVM returns a 16-CPU virtual machine that declares 16 separate cores
// sharing one LLC, where CPUs 2-3 and 8-9 are in fact host SMT siblings
// (~27 ns against ~100 ns) and the pair 5-12 is unstable between
// repetitions (27 ns in some, 100+ ns in others).
func FakeVM() *matrix.Matrix {
	cpus := make([]int, 16)
	for i := range cpus {
		cpus[i] = i
	}
	m := matrix.New(cpus)
	rng := rand.New(rand.NewPCG(9, 9))
	sib := func(a, b int) bool {
		return (a == 2 && b == 3) || (a == 3 && b == 2) || (a == 8 && b == 9) || (a == 9 && b == 8)
	}
	for _, a := range cpus {
		for _, b := range cpus {
			if a == b {
				continue
			}
			base := 95 + 10*rng.Float64()
			if sib(a, b) {
				base = 27
			}
			var s []float64
			for k := range 7 {
				v := base * (1 + 0.04*rng.NormFloat64())
				if (a == 5 && b == 12) || (a == 12 && b == 5) {
					v = []float64{27, 110, 28, 120, 26, 105, 30}[k]
				}
				s = append(s, v)
			}
			m.Set(a, b, s...)
		}
	}
	m.Classify(func(a, b int) affinity.Class {
		if a == b {
			return affinity.SameCPU
		}
		return affinity.LLC
	})
	return m
}

// Bare returns a 2-socket machine, 4 cores with SMT per socket, ordered by
// topology: CPUs 0-3 and 8-11 on socket 0 (siblings i and i+8), 4-7 and
// 12-15 on socket 1.
func Bare() *matrix.Matrix {
	order := []int{0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15}
	m := matrix.New(order)
	socket := func(c int) int { return (c % 8) / 4 }
	rel := func(a, b int) affinity.Class {
		switch {
		case a == b:
			return affinity.SameCPU
		case a%8 == b%8:
			return affinity.SMT
		case socket(a) == socket(b):
			return affinity.LLC
		}
		return affinity.Remote
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, a := range order {
		for _, b := range order {
			base := map[affinity.Class]float64{affinity.SMT: 22, affinity.LLC: 62, affinity.Remote: 135}[rel(a, b)]
			if a == b {
				continue
			}
			var s []float64
			for range 7 {
				s = append(s, base*(1+0.05*rng.NormFloat64()))
			}
			m.Set(a, b, s...)
		}
	}
	m.Classify(rel)
	return m
}
