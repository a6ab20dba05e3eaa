package tracex

import (
	"strings"
	"testing"
)

func TestOutlierRecordRoundTrip(t *testing.T) {
	in := OutlierRecord{
		Bench: "BenchmarkHandoff/via=aio/wait=block/place=unpinned-2", Hop: 1234,
		Ns: 5123456, MedianNs: 6100, Factor: 20,
		Sender: "iothread 11 on CPUs 0", Receiver: "iothread 12 unpinned",
		SenderCPU: [2]int{0, 0}, ReceiverCPU: [2]int{1, -1}, AtNs: 987654321000,
	}
	out, err := ParseOutlier(in.String())
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip of %q gave %+v, want %+v", in.String(), out, in)
	}
	// The arrival's time is optional (a writer that did not know it).
	unknown := in
	unknown.AtNs = 0
	if out, err := ParseOutlier(unknown.String()); err != nil || out != unknown || strings.Contains(unknown.String(), "at-ns") {
		t.Fatalf("without at-ns: %q gave %+v, %v", unknown.String(), out, err)
	}
	if _, err := ParseOutlier(in.String() + "x"); err == nil || !strings.Contains(err.Error(), "at-ns") {
		t.Errorf("a malformed at-ns: error %v", err)
	}
	if Migrated(in.ReceiverCPU) || !Migrated([2]int{0, 1}) || Migrated([2]int{2, 2}) {
		t.Fatal("Migrated: want true only for two known, different CPUs")
	}
	// A later writer's extra key is ignored.
	if _, err := ParseOutlier(in.String() + "; gc=yes"); err != nil {
		t.Fatalf("an extra key: %v", err)
	}
	for _, c := range []struct{ msg, want string }{
		{strings.Replace(in.String(), "; hop=1234", "", 1), "lacks hop"},
		{strings.Replace(in.String(), "ns=5123456", "ns=fast", 1), "ns=\"fast\""},
		{strings.Replace(in.String(), "sender-cpu=0>0", "sender-cpu=0", 1), "want BEFORE>AFTER"},
		{"no fields here", "has no '='"},
	} {
		if _, err := ParseOutlier(c.msg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseOutlier(%q) error = %v, want one containing %q", c.msg, err, c.want)
		}
	}
}

func TestContextOf(t *testing.T) {
	for _, c := range []struct {
		msg, want string
		ok        bool
	}{
		{"ctx iothread 12 on CPUs 1 co 0xc000123 where RunAioHandoff", "iothread 12 on CPUs 1", true},
		{"ctx context 0xc0001 co 0xc0002", "context 0xc0001", true},
		{"bench=x; hop=1", "", false},
		{"ctx without coroutine", "", false},
	} {
		if got, ok := ContextOf(c.msg); got != c.want || ok != c.ok {
			t.Errorf("ContextOf(%q) = %q, %v; want %q, %v", c.msg, got, ok, c.want, c.ok)
		}
	}
}
