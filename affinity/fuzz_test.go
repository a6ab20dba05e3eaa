package affinity

import "testing"

// FuzzParseList checks that any list ParseList accepts formats back to a
// list (and a mask) that parse to the same set, and that formatting is
// canonical: parse(format(s)) formats identically.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"", "0", "0-3,8,10-11", "1,3,5-7\n", "1023-1025", "4095\x00", "3-1", "a", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseList(in)
		if err != nil {
			return
		}
		roundTrip(t, s)
	})
}

// FuzzParseMask is FuzzParseList for the hex mask form.
func FuzzParseMask(f *testing.F) {
	for _, s := range []string{"00000000", "0000ffff", "00000000,0000ffff\n", "80000000,00000003\x00", "f,0", "g", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseMask(in)
		if err != nil {
			return
		}
		roundTrip(t, s)
	})
}

func roundTrip(t *testing.T, s CPUSet) {
	t.Helper()
	l, err := ParseList(s.String())
	if err != nil {
		t.Fatalf("ParseList(%q) of a formatted set: %v", s.String(), err)
	}
	m, err := ParseMask(s.Mask())
	if err != nil {
		t.Fatalf("ParseMask(%q) of a formatted set: %v", s.Mask(), err)
	}
	if l != s || m != s {
		t.Fatalf("round trip changed the set: %q -> list %q, mask %q -> %q", s.String(), l.String(), s.Mask(), m.String())
	}
	if l.String() != s.String() || m.Mask() != s.Mask() {
		t.Fatalf("formatting is not canonical: %q %q", s.String(), s.Mask())
	}
	if NewCPUSet(s.CPUs()...) != s || s.Count() != len(s.CPUs()) {
		t.Fatalf("CPUs/NewCPUSet disagree for %q", s.String())
	}
}
