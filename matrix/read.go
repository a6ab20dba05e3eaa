package matrix

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/pinbench/pinbench/affinity"
)

// A matrix is stored dense: a cell for each ordered pair of the CPUs it
// names, about 48 bytes a cell with samples and classes. The readers
// therefore bound the CPUs a file may name, so that a file of a few
// kilobytes naming a thousand CPUs cannot make them allocate a thousand
// squared cells (nor make the heat map draw them): ReadFileIn accepts the
// CPUs of the machine's topology only, and the readers without a topology
// accept ids below MaxCPUs.

// MaxCPUs bounds the CPU ids that ReadCSV, ReadLongCSV and ReadFile
// accept: an id outside 0 to MaxCPUs-1 is an error naming its line. It is
// the 1024 CPUs of Linux's CPU_SETSIZE (and of x/sys's unix.CPUSet), so a
// matrix read without a topology has at most 1024x1024 cells, about 50 MB.
// A machine with higher CPU numbers has its matrix read with ReadFileIn.
const MaxCPUs = 1024

// MaxFileBytes bounds the size of the file that ReadFile and ReadFileIn
// read: 256 MiB, more than the long form of a full 1024-CPU matrix with 5
// samples a pair. A larger file is refused before it is read.
const MaxFileBytes = 256 << 20

// ReadFile reads a latency matrix from a regular file of at most
// MaxFileBytes in either CSV form (the long form is recognised by its
// "from,to," header), accepting CPU ids below MaxCPUs. Errors name the
// file.
func ReadFile(path string) (*Matrix, error) {
	return readFile(path, bound{})
}

// ReadFileIn is ReadFile for the matrix of a known machine: it accepts
// only the CPUs in cpus (the topology's online CPUs) and refuses any other
// id, naming the file, the line and the CPU.
func ReadFileIn(path string, cpus affinity.CPUSet) (*Matrix, error) {
	return readFile(path, bound{cpus: cpus, topology: true})
}

func readFile(path string, b bound) (*Matrix, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	m, err := read(data, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// read reads either CSV form from data.
func read(data []byte, b bound) (*Matrix, error) {
	if bytes.HasPrefix(data, []byte("from,to,")) {
		return readLong(bytes.NewReader(data), b)
	}
	return readGrid(bytes.NewReader(data), b)
}

// readBounded returns the contents of the regular file at path, refusing a
// device, a FIFO or a folder (which could be read without end, or block)
// and a file over MaxFileBytes. Errors name the file.
func readBounded(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxFileBytes {
		return nil, tooLarge(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileBytes { // it grew since Stat
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(path string) error {
	return fmt.Errorf("%s: larger than %d bytes, the most a latency matrix file may hold (matrix.MaxFileBytes)", path, MaxFileBytes)
}

// bound says which CPU ids a reader accepts: with topology, those in cpus;
// without, 0 to MaxCPUs-1.
type bound struct {
	cpus     affinity.CPUSet
	topology bool
}

// cpu parses a CPU id and checks it against the bound. The error says
// what was wrong; the caller adds where.
func (b bound) cpu(f string) (int, error) {
	c, err := strconv.Atoi(f)
	if err != nil {
		return 0, fmt.Errorf("CPU id %s is not a number", quote(f))
	}
	return c, b.check(c)
}

// check refuses a CPU id outside the bound, saying why.
func (b bound) check(c int) error {
	switch {
	case b.topology && !b.cpus.Has(c):
		return fmt.Errorf("CPU %d is not among the topology's CPUs %s", c, b.cpus)
	case !b.topology && (c < 0 || c >= MaxCPUs):
		return fmt.Errorf("CPU %d is outside 0-%d, the ids a matrix read without a topology may name (matrix.MaxCPUs)", c, MaxCPUs-1)
	}
	return nil
}

// quote quotes s for an error message, cut to its first 40 bytes.
func quote(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "..."
	}
	return strconv.Quote(s)
}
