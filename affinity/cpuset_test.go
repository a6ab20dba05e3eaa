package affinity

import (
	"slices"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	cases := []struct {
		in   string
		cpus []int
		out  string
	}{
		{"", nil, ""},
		{"\n", nil, ""},
		{"0", []int{0}, "0"},
		{"0-3,8,10-11\n", []int{0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
		{"0-3,8,10-11\n\x00\x00", []int{0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
		{"5,1,3-4,2", []int{1, 2, 3, 4, 5}, "1-5"},
		{"1,3", []int{1, 3}, "1,3"},
		{"7-7", []int{7}, "7"},
		{"1023-1025", []int{1023, 1024, 1025}, "1023-1025"},
		{"4095", []int{4095}, "4095"},
	}
	for _, c := range cases {
		s, err := ParseList(c.in)
		if err != nil {
			t.Errorf("ParseList(%q): %v", c.in, err)
			continue
		}
		if got := s.CPUs(); !slices.Equal(got, c.cpus) && len(got)+len(c.cpus) > 0 {
			t.Errorf("ParseList(%q) = %v, want %v", c.in, got, c.cpus)
		}
		if s.String() != c.out {
			t.Errorf("ParseList(%q).String() = %q, want %q", c.in, s.String(), c.out)
		}
		if s != NewCPUSet(c.cpus...) {
			t.Errorf("ParseList(%q) != NewCPUSet(%v)", c.in, c.cpus)
		}
	}
}

func TestParseListErrors(t *testing.T) {
	wantRefused(t, "ParseList", ParseList, "a", "1-", "-1", "3-1", "1,,2", "1 2", "0x3", "1-2-3", "99999999999999999999", "65536", ",", "+1")
}

// wantRefused checks that parse, called name, refuses each input with an
// error that quotes it.
func wantRefused(t *testing.T, name string, parse func(string) (CPUSet, error), inputs ...string) {
	t.Helper()
	for _, in := range inputs {
		_, err := parse(in)
		if err == nil {
			t.Errorf("%s(%q) succeeded, want error", name, in)
			continue
		}
		if !strings.Contains(err.Error(), quote(in)) {
			t.Errorf("%s(%q) error %q does not quote the input", name, in, err)
		}
	}
}

func TestParseMask(t *testing.T) {
	cases := []struct {
		in   string
		list string
		mask string
	}{
		{"00000000,0000ffff\n", "0-15", "0000ffff"},
		{"1", "0", "00000001"},
		{"00000000", "", "00000000"},
		{"00000001,00000000", "32", "00000001,00000000"},
		{"80000000,00000003\x00\x00", "0-1,63", "80000000,00000003"},
		{"f,0", "32-35", "0000000f,00000000"},
		{"FFFFFFFF", "0-31", "ffffffff"},
	}
	for _, c := range cases {
		s, err := ParseMask(c.in)
		if err != nil {
			t.Errorf("ParseMask(%q): %v", c.in, err)
			continue
		}
		if s.String() != c.list || s.Mask() != c.mask {
			t.Errorf("ParseMask(%q) = %q / %q, want %q / %q", c.in, s.String(), s.Mask(), c.list, c.mask)
		}
	}
}

func TestParseMaskErrors(t *testing.T) {
	wantRefused(t, "ParseMask", ParseMask, "", "\n", "g", "123456789", "1,,2", ",1", "0x1", "-1", "+1", "1 2", strings.Repeat("0,", 3000)+"1")
}

func TestSetOps(t *testing.T) {
	a := NewCPUSet(1, 2, 3, 2000)
	b := NewCPUSet(3, 4, 2000, 5000)
	if got := a.Union(b).String(); got != "1-4,2000,5000" {
		t.Errorf("Union = %s", got)
	}
	if got := a.Intersect(b).String(); got != "3,2000" {
		t.Errorf("Intersect = %s", got)
	}
	if got := a.Difference(b).String(); got != "1-2" {
		t.Errorf("Difference = %s", got)
	}
	if got := b.Difference(NewCPUSet(5000)).Last(); got != 2000 {
		t.Errorf("Difference trims: Last = %d", got)
	}
	if !a.Intersect(NewCPUSet(7)).IsEmpty() || a.Intersect(NewCPUSet(7)) != (CPUSet{}) {
		t.Errorf("disjoint Intersect is not the zero set")
	}
	if a.Count() != 4 || a.First() != 1 || a.Last() != 2000 || (CPUSet{}).First() != -1 || (CPUSet{}).Last() != -1 {
		t.Errorf("Count/First/Last wrong")
	}
	if !NewCPUSet(1, 2).IsSubset(a) || a.IsSubset(NewCPUSet(1, 2)) {
		t.Errorf("IsSubset wrong")
	}
	c := a
	c.Add(7)
	c.Remove(2000)
	if a.Has(7) || !a.Has(2000) || !c.Has(7) || c.Has(2000) || c.Last() != 7 {
		t.Errorf("copies share memory: a=%s c=%s", a, c)
	}
	var z CPUSet
	z.Add(70000)
	if z.Count() != 1 || !z.Has(70000) || z.Has(69999) || z.Has(-1) {
		t.Errorf("Add beyond MaxCPUs from code: %s", z)
	}
	var n []int
	for cpu := range NewCPUSet(9, 1, 64).All() {
		n = append(n, cpu)
		if cpu == 9 {
			break
		}
	}
	if !slices.Equal(n, []int{1, 9}) {
		t.Errorf("All with break = %v", n)
	}
}

func itoa(n int) string { return NewCPUSet(n).String() }
