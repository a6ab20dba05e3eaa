package affinity

import (
	"fmt"
	"iter"
	"math/bits"
	"strconv"
	"strings"
)

// MaxCPUs bounds the CPU numbers a CPUSet accepts from text: ParseList and
// ParseMask reject a CPU number at or above it, so that a hostile or corrupt
// file ("0-99999999999") cannot make the parser allocate without bound. Linux
// itself allows at most 8192 CPUs (CONFIG_NR_CPUS); 65536 leaves room.
// NewCPUSet and Add panic on a negative CPU and accept any other number: they
// take CPU numbers from code, not from input.
const MaxCPUs = 1 << 16

// CPUSet is a set of logical CPU numbers with no upper limit (unlike
// unix.CPUSet, which holds CPUs 0-1023 only).
//
// A CPUSet is a value: copying it copies the set, the zero value is the empty
// set, and two sets holding the same CPUs compare equal with == (so a CPUSet
// may be a map key). The bitmap is kept in an immutable string, so copies
// never share mutable memory and any number of goroutines may read one set
// concurrently; Add and Remove replace the contents of the variable they are
// called on (one allocation each), which, like any write to a variable, must
// not race with reads of that same variable.
type CPUSet struct {
	// bits holds the bitmap, CPU n at bit n%8 of byte n/8. Invariant: no
	// trailing zero byte, so equal sets have equal strings.
	bits string
}

// NewCPUSet returns the set holding cpus. It panics on a negative CPU number.
func NewCPUSet(cpus ...int) CPUSet {
	max := -1
	for _, c := range cpus {
		if c < 0 {
			panic(fmt.Sprintf("affinity: negative CPU number %d", c))
		}
		max = maxInt(max, c)
	}
	if max < 0 {
		return CPUSet{}
	}
	b := make([]byte, max/8+1)
	for _, c := range cpus {
		b[c/8] |= 1 << (c % 8)
	}
	return fromBytes(b)
}

// fromBytes makes a set from a bitmap, trimming trailing zero bytes.
func fromBytes(b []byte) CPUSet {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return CPUSet{bits: string(b[:n])}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Has reports whether cpu is in the set.
func (s CPUSet) Has(cpu int) bool {
	if cpu < 0 || cpu/8 >= len(s.bits) {
		return false
	}
	return s.bits[cpu/8]&(1<<(cpu%8)) != 0
}

// Add puts cpu in the set held by *s. It panics on a negative CPU number.
func (s *CPUSet) Add(cpu int) {
	if cpu < 0 {
		panic(fmt.Sprintf("affinity: negative CPU number %d", cpu))
	}
	if s.Has(cpu) {
		return
	}
	b := make([]byte, maxInt(len(s.bits), cpu/8+1))
	copy(b, s.bits)
	b[cpu/8] |= 1 << (cpu % 8)
	s.bits = string(b)
}

// Remove takes cpu out of the set held by *s; a CPU not in the set is ignored.
func (s *CPUSet) Remove(cpu int) {
	if !s.Has(cpu) {
		return
	}
	b := []byte(s.bits)
	b[cpu/8] &^= 1 << (cpu % 8)
	*s = fromBytes(b)
}

// Count returns the number of CPUs in the set.
func (s CPUSet) Count() int {
	n := 0
	for i := 0; i < len(s.bits); i++ {
		n += bits.OnesCount8(s.bits[i])
	}
	return n
}

// IsEmpty reports whether the set holds no CPU.
func (s CPUSet) IsEmpty() bool { return s.bits == "" }

// Equal reports whether s and o hold the same CPUs (the same as s == o).
func (s CPUSet) Equal(o CPUSet) bool { return s.bits == o.bits }

// First returns the lowest CPU in the set, or -1 when the set is empty.
func (s CPUSet) First() int {
	for c := range s.All() {
		return c
	}
	return -1
}

// Last returns the highest CPU in the set, or -1 when the set is empty.
func (s CPUSet) Last() int {
	if s.bits == "" {
		return -1
	}
	i := len(s.bits) - 1
	return i*8 + 7 - bits.LeadingZeros8(s.bits[i])
}

// All iterates over the CPUs of the set in ascending order.
func (s CPUSet) All() iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < len(s.bits); i++ {
			for w := s.bits[i]; w != 0; w &= w - 1 {
				if !yield(i*8 + bits.TrailingZeros8(w)) {
					return
				}
			}
		}
	}
}

// CPUs returns the CPUs of the set in ascending order, in a new slice.
func (s CPUSet) CPUs() []int {
	out := make([]int, 0, s.Count())
	for c := range s.All() {
		out = append(out, c)
	}
	return out
}

// Union returns the CPUs in s or o.
func (s CPUSet) Union(o CPUSet) CPUSet {
	if len(s.bits) < len(o.bits) {
		s, o = o, s
	}
	b := []byte(s.bits)
	for i := 0; i < len(o.bits); i++ {
		b[i] |= o.bits[i]
	}
	return fromBytes(b)
}

// Intersect returns the CPUs in both s and o.
func (s CPUSet) Intersect(o CPUSet) CPUSet {
	b := make([]byte, min(len(s.bits), len(o.bits)))
	for i := range b {
		b[i] = s.bits[i] & o.bits[i]
	}
	return fromBytes(b)
}

// Difference returns the CPUs in s and not in o.
func (s CPUSet) Difference(o CPUSet) CPUSet {
	b := []byte(s.bits)
	for i := 0; i < len(b) && i < len(o.bits); i++ {
		b[i] &^= o.bits[i]
	}
	return fromBytes(b)
}

// IsSubset reports whether every CPU of s is in o.
func (s CPUSet) IsSubset(o CPUSet) bool {
	return s.Intersect(o) == s
}

// String formats the set in the Linux list form, ascending with ranges of
// two or more CPUs joined by a dash: "0-3,8,10-11". The empty set is "".
func (s CPUSet) String() string {
	var sb strings.Builder
	start, prev := -1, -1
	flush := func() {
		if start < 0 {
			return
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(start))
		if prev > start {
			sb.WriteByte('-')
			sb.WriteString(strconv.Itoa(prev))
		}
	}
	for c := range s.All() {
		if c != prev+1 || start < 0 {
			flush()
			start = c
		}
		prev = c
	}
	flush()
	return sb.String()
}

// Mask formats the set in the Linux hex mask form: comma-separated groups of
// eight hex digits (32 CPUs each), most significant group first, as in
// thread_siblings and shared_cpu_map: "00000000,0000ffff". The empty set is
// "00000000".
func (s CPUSet) Mask() string {
	groups := (s.Last() + 32) / 32 // Last is -1 when empty
	if groups == 0 {
		groups = 1
	}
	var sb strings.Builder
	sb.Grow(groups * 9)
	for g := groups - 1; g >= 0; g-- {
		var w uint32
		for k := 0; k < 4; k++ {
			if i := g*4 + k; i < len(s.bits) {
				w |= uint32(s.bits[i]) << (8 * k)
			}
		}
		if g != groups-1 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%08x", w)
	}
	return sb.String()
}

// trimSysfs strips what sysfs and captures of it put around a value: spaces,
// tabs, newlines and NUL bytes.
func trimSysfs(s string) string {
	return strings.Trim(s, " \t\r\n\x00")
}

// quote quotes input for an error message, shortening very long input.
func quote(s string) string {
	const max = 200
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// ParseList parses the Linux list form ("0-3,8,10-11"), as in cpulist,
// shared_cpu_list and /sys/devices/system/cpu/online. Surrounding spaces,
// newlines and NUL bytes are ignored; an empty list is the empty set. Ranges
// may overlap or come in any order. Malformed input (a reversed range, a
// missing number, a CPU at or above MaxCPUs) is an error quoting the input.
func ParseList(s string) (CPUSet, error) {
	in := trimSysfs(s)
	if in == "" {
		return CPUSet{}, nil
	}
	var b []byte
	for item := range strings.SplitSeq(in, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(item), "-")
		a, err := parseCPU(lo)
		if err != nil {
			return CPUSet{}, &SyntaxError{"list", s, err.Error()}
		}
		z := a
		if isRange {
			if z, err = parseCPU(hi); err != nil {
				return CPUSet{}, &SyntaxError{"list", s, err.Error()}
			}
			if z < a {
				return CPUSet{}, &SyntaxError{"list", s, fmt.Sprintf("range %d-%d is reversed", a, z)}
			}
		}
		if need := z/8 + 1; need > len(b) {
			b = append(b, make([]byte, need-len(b))...)
		}
		for c := a; c <= z; c++ {
			b[c/8] |= 1 << (c % 8)
		}
	}
	return fromBytes(b), nil
}

// parseCPU parses one decimal CPU number below MaxCPUs.
func parseCPU(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("missing CPU number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a CPU number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n >= MaxCPUs {
		return 0, fmt.Errorf("CPU %s is beyond the limit of %d CPUs", s, MaxCPUs)
	}
	return n, nil
}

// ParseMask parses the Linux hex mask form ("00000000,0000ffff"), as in
// thread_siblings, shared_cpu_map and cpumap: comma-separated groups of one
// to eight hex digits, each 32 CPUs, the last group holding CPUs 0-31.
// Surrounding spaces, newlines and NUL bytes are ignored. Malformed input
// (empty, a non-hex digit, an empty or over-long group, a CPU at or above
// MaxCPUs) is an error quoting the input.
func ParseMask(s string) (CPUSet, error) {
	in := trimSysfs(s)
	if in == "" {
		return CPUSet{}, &SyntaxError{"mask", s, "empty"}
	}
	groups := strings.Split(in, ",")
	if len(groups) > MaxCPUs/32 {
		return CPUSet{}, &SyntaxError{"mask", s, fmt.Sprintf("more than %d groups", MaxCPUs/32)}
	}
	b := make([]byte, 0, 4*len(groups))
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if len(g) == 0 || len(g) > 8 {
			return CPUSet{}, &SyntaxError{"mask", s, fmt.Sprintf("group %q is not 1-8 hex digits", g)}
		}
		w, err := strconv.ParseUint(g, 16, 32)
		if err != nil || g[0] == '+' || g[0] == '-' {
			return CPUSet{}, &SyntaxError{"mask", s, fmt.Sprintf("group %q is not hex", g)}
		}
		if w != 0 && (len(groups)-1-i)*32+31-bits.LeadingZeros32(uint32(w)) >= MaxCPUs {
			return CPUSet{}, &SyntaxError{"mask", s, fmt.Sprintf("CPU beyond the limit of %d CPUs", MaxCPUs)}
		}
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return fromBytes(b), nil
}
