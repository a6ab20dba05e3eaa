package matrix

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// fuzzSeeds are the inputs FuzzReadCSV starts from: both forms, the
// hostile files of issue 20 (a chain naming many CPUs, ids past the limit,
// sparse and negative ids, an unknown class), and malformed ones.
func fuzzSeeds() []string {
	var chain strings.Builder
	chain.WriteString("from,to,class,median_ns,samples_ns\n")
	for c := range 300 {
		fmt.Fprintf(&chain, "%d,%d,,5,\n", c, c+1)
	}
	return []string{
		"cpu,0,1,2\n0,,31.5,98\n1,31.2,,97.4\n2,98.3,97.9,\n",
		"from,to,class,median_ns,samples_ns\n0,1,smt,31,30 31 33\n1,0,smt,32.5,32.5\n",
		chain.String(),
		"from,to,class,median_ns,samples_ns\n0,999,,5,5\n999,0,,6,6\n",
		"from,to,class,median_ns,samples_ns\n0,1024,,5,5\n",
		"from,to,class,median_ns,samples_ns\n-1,0,,5,5\n",
		"from,to,class,median_ns,samples_ns\n0,1,bogus,5,5\n",
		"from,to,class,median_ns,samples_ns\n0,1,llc,5,\"5\n6\"\n1,0,llc,x,5\n",
		"from,to,class,median_ns,samples_ns\n0,1,llc,5,5\n0,1,llc,7,7\n",
		"from,to,class,median_ns,samples_ns\n",
		"cpu,0,5000\n0,,1\n5000,1,\n",
		"cpu,0,1,0\n0,,5,\n1,5,,5\n0,,5,\n",
		"cpu,0,1\n0,,1\n1,1,\n2,1,1\n",
		"cpu,0,1\n0,\"\n",
		"cpu,0,1\n0,,inf\n1,NaN,\n",
		"cpu\n",
		"",
		"\x00\x00\x00",
	}
}

// FuzzReadCSV checks that no input makes the readers panic, that what they
// accept names only CPUs within the bound in a square matrix, that it writes
// back to a form that reads to the same text, and that its heat map's SVG
// stays in proportion to the input. With topo, the bound is a 4-CPU
// topology's; without, MaxCPUs.
func FuzzReadCSV(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, topo bool) {
		b := bound{}
		if topo {
			b = bound{cpus: affinity.NewCPUSet(0, 1, 2, 3), topology: true}
		}
		m, err := read(in, b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "latency matrix: ") {
				t.Fatalf("error %q does not say what was read", err)
			}
			return
		}
		checkShape(t, m, b)
		checkRewrite(t, m, b)
		var svg bytes.Buffer
		if err := m.WriteSVG(&svg); err != nil {
			t.Fatal(err)
		}
		if limit := 200*len(in) + 3<<20; svg.Len() > limit {
			t.Fatalf("SVG of %d bytes from %d bytes of input (%d CPUs)", svg.Len(), len(in), len(m.CPUs))
		}
	})
}

// checkShape checks that m's CPUs are distinct and within b, and that its
// grids are square over them.
func checkShape(t *testing.T, m *Matrix, b bound) {
	t.Helper()
	n := len(m.CPUs)
	seen := map[int]bool{}
	for _, c := range m.CPUs {
		if seen[c] || b.check(c) != nil {
			t.Fatalf("CPUs %v: %d repeated or outside the bound", m.CPUs, c)
		}
		seen[c] = true
	}
	if len(m.NS) != n || (m.Samples != nil && len(m.Samples) != n) || (m.Class != nil && len(m.Class) != n) {
		t.Fatalf("%d CPUs, %d rows", n, len(m.NS))
	}
	for i := range n {
		if len(m.NS[i]) != n || (m.Samples != nil && len(m.Samples[i]) != n) || (m.Class != nil && len(m.Class[i]) != n) {
			t.Fatalf("row %d is not %d cells", i, n)
		}
	}
}

// checkRewrite writes m in the form it was read from (the long one when it
// has samples), reads that back, and checks that writing it again gives the
// same text.
func checkRewrite(t *testing.T, m *Matrix, b bound) {
	t.Helper()
	write := (*Matrix).WriteCSV
	if m.Samples != nil {
		write = (*Matrix).WriteLongCSV
	}
	text := func(m *Matrix) []byte {
		var buf bytes.Buffer
		if err := write(m, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := text(m)
	again, err := read(first, b)
	if err != nil {
		t.Fatalf("reading what was written: %v\n%s", err, first)
	}
	if second := text(again); !bytes.Equal(first, second) {
		t.Fatalf("written twice differently:\n%s\nvs\n%s", first, second)
	}
	if err := again.WriteText(io.Discard); err != nil {
		t.Fatal(err)
	}
}
