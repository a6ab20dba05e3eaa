package place

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
)

// The libvirt output for the newest libvirt carries <poll> in
// <iothreadids> (libvirt 9.4 and later), which Debian 12's libvirt 9.0
// schema predates: scripts/place-check.sh validates the 9.0 output with
// virt-xml-validate, and this test checks the newest output by a typed
// round-trip. The types below are written from libvirt's formatdomain
// documentation (IOThreads allocation, CPU tuning), not from the
// emitter's: every element and attribute the output holds must be one of
// them, and the values must be the plan's.
type (
	lvDomain struct {
		XMLName     xml.Name   `xml:"domain"`
		IOThreads   int        `xml:"iothreads"`
		IOThreadIDs lvDocIDs   `xml:"iothreadids"`
		CPUTune     lvDocTune  `xml:"cputune"`
		Unknown     []xmlAnyEl `xml:",any"`
		UnknownAttr []xml.Attr `xml:",any,attr"`
	}
	lvDocIDs struct {
		IOThread []lvDocIOThread `xml:"iothread"`
		Unknown  []xmlAnyEl      `xml:",any"`
	}
	lvDocIOThread struct {
		ID          int        `xml:"id,attr"`
		Poll        *lvDocPoll `xml:"poll"`
		Unknown     []xmlAnyEl `xml:",any"`
		UnknownAttr []xml.Attr `xml:",any,attr"`
	}
	lvDocPoll struct {
		Max         *int64     `xml:"max,attr"`
		Grow        *int64     `xml:"grow,attr"`
		Shrink      *int64     `xml:"shrink,attr"`
		UnknownAttr []xml.Attr `xml:",any,attr"`
	}
	lvDocTune struct {
		VCPUPin     []lvDocPin `xml:"vcpupin"`
		EmulatorPin *lvDocPin  `xml:"emulatorpin"`
		IOThreadPin []lvDocPin `xml:"iothreadpin"`
		Unknown     []xmlAnyEl `xml:",any"`
	}
	lvDocPin struct {
		VCPU        string     `xml:"vcpu,attr"`
		IOThread    string     `xml:"iothread,attr"`
		CPUSet      string     `xml:"cpuset,attr"`
		UnknownAttr []xml.Attr `xml:",any,attr"`
	}
	xmlAnyEl struct {
		XMLName xml.Name
	}
)

// libvirtDomain emits d for libvirt version (with opts) and decodes the
// fragment wrapped in <domain>.
func libvirtDomain(t *testing.T, d *Document, o EmitOptions) (lvDomain, string) {
	t.Helper()
	var b bytes.Buffer
	if err := Emit(&b, d, FormatLibvirt, o); err != nil {
		t.Fatal(err)
	}
	frag, _, _ := strings.Cut(b.String(), "\n#") // the virsh lines follow the XML
	var dom lvDomain
	if err := xml.Unmarshal([]byte("<domain type=\"kvm\">"+frag+"</domain>"), &dom); err != nil {
		t.Fatalf("the fragment does not parse inside <domain>: %v\n%s", err, frag)
	}
	return dom, frag
}

func TestLibvirtNewestRoundTrip(t *testing.T) {
	d := pairs4()
	dom, frag := libvirtDomain(t, d, EmitOptions{VCPUs: 1})
	if len(dom.Unknown) > 0 || len(dom.IOThreadIDs.Unknown) > 0 || len(dom.CPUTune.Unknown) > 0 {
		t.Errorf("elements outside the documented form: %v %v %v", dom.Unknown, dom.IOThreadIDs.Unknown, dom.CPUTune.Unknown)
	}
	// pair 0: iothread 1 (t0) and vCPU 0 (t1); pair 1: iothreads 2 and 3.
	wantIO := map[int]string{1: "2", 2: "4", 3: "5"}
	if dom.IOThreads != 3 || len(dom.IOThreadIDs.IOThread) != 3 || len(dom.CPUTune.IOThreadPin) != 3 {
		t.Fatalf("iothreads %d, ids %+v, pins %+v; want 3 each", dom.IOThreads, dom.IOThreadIDs.IOThread, dom.CPUTune.IOThreadPin)
	}
	for i, th := range dom.IOThreadIDs.IOThread {
		p := th.Poll
		if th.ID != i+1 || p == nil || p.Max == nil || *p.Max != d.PollMaxNs || p.Grow == nil || *p.Grow != 0 || p.Shrink == nil || *p.Shrink != 0 ||
			len(p.UnknownAttr) > 0 || len(th.Unknown) > 0 || len(th.UnknownAttr) > 0 {
			t.Errorf("iothread %d: %+v poll %+v; want id %d with <poll max=%d grow=0 shrink=0>", i, th, p, i+1, d.PollMaxNs)
		}
		pin := dom.CPUTune.IOThreadPin[i]
		if pin.IOThread != strconv.Itoa(th.ID) || pin.CPUSet != wantIO[th.ID] || len(pin.UnknownAttr) > 0 {
			t.Errorf("iothreadpin %+v, want iothread %d on %s", pin, th.ID, wantIO[th.ID])
		}
	}
	if v := dom.CPUTune.VCPUPin; len(v) != 1 || v[0].VCPU != "0" || v[0].CPUSet != "3" {
		t.Errorf("vcpupin %+v, want vCPU 0 on CPU 3", v)
	}
	if e := dom.CPUTune.EmulatorPin; e == nil || e.CPUSet != "0-1,6-7" {
		t.Errorf("emulatorpin %+v, want the usable CPUs no thread uses, 0-1,6-7", e)
	}
	// Round trip: the decoded form encodes to the same elements again.
	again, err := xml.Marshal(dom.IOThreadIDs.IOThread[0].Poll)
	if err != nil || !strings.Contains(frag, `<poll max="16000" grow="0" shrink="0"></poll>`) || !strings.Contains(string(again), `max="16000"`) {
		t.Errorf("poll element: %s (%v) in\n%s", again, err, frag)
	}
}

// For libvirt 9.0 the same plan has no <poll>: the window goes through
// virsh iothreadset.
func TestLibvirt90HasNoPoll(t *testing.T) {
	dom, frag := libvirtDomain(t, pairs4(), EmitOptions{LibvirtVersion: "9.0"})
	for _, th := range dom.IOThreadIDs.IOThread {
		if th.Poll != nil {
			t.Errorf("libvirt 9.0 output has <poll>:\n%s", frag)
		}
	}
	if dom.IOThreads != 4 || len(dom.CPUTune.IOThreadPin) != 4 {
		t.Errorf("iothreads %d, pins %d; want 4", dom.IOThreads, len(dom.CPUTune.IOThreadPin))
	}
}
