package place

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// libvirtPollSince is the first libvirt whose <iothreadids> takes
// <poll max grow shrink> (libvirt 9.4); Debian 12 ships 9.0.
var libvirtPollSince = [2]int{9, 4}

// The domain XML elements the libvirt format writes, inside <domain>.
type (
	lvIOThreads struct {
		XMLName xml.Name `xml:"iothreads"`
		Count   int      `xml:",chardata"`
	}
	lvIOThreadIDs struct {
		XMLName xml.Name     `xml:"iothreadids"`
		Threads []lvIOThread `xml:"iothread"`
	}
	lvIOThread struct {
		ID   int     `xml:"id,attr"`
		Poll *lvPoll `xml:"poll,omitempty"`
	}
	lvPoll struct {
		Max    int64 `xml:"max,attr"`
		Grow   int   `xml:"grow,attr"`
		Shrink int   `xml:"shrink,attr"`
	}
	lvCPUTune struct {
		XMLName     xml.Name        `xml:"cputune"`
		VCPUPins    []lvVCPUPin     `xml:"vcpupin"`
		EmulatorPin *lvEmulatorPin  `xml:"emulatorpin,omitempty"`
		IOThreadPin []lvIOThreadPin `xml:"iothreadpin"`
	}
	lvVCPUPin struct {
		VCPU   int    `xml:"vcpu,attr"`
		CPUSet string `xml:"cpuset,attr"`
	}
	lvEmulatorPin struct {
		CPUSet string `xml:"cpuset,attr"`
	}
	lvIOThreadPin struct {
		IOThread int    `xml:"iothread,attr"`
		CPUSet   string `xml:"cpuset,attr"`
	}
)

// emitLibvirt writes the domain XML elements for the plan (iothreads,
// their ids with the poll window where the libvirt version takes it, and
// cputune pinning iothreads, and vCPUs and the emulator for a pairs plan
// with vCPUs), then the virsh lines that apply the same to a running
// domain.
func emitLibvirt(w io.Writer, d *Document, o EmitOptions) error {
	withPoll, err := libvirtHasPoll(o.LibvirtVersion)
	if err != nil {
		return err
	}
	roles, err := d.roles(o.VCPUs)
	if err != nil {
		return err
	}
	ids, tune := libvirtElements(d, roles, withPoll)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "<!-- %s -->\n", xmlComment(d.headline()))
	fmt.Fprintf(bw, "<!-- Inside <domain> (virsh edit), for libvirt %s. -->\n", or(o.LibvirtVersion, "9.4 and later"))
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	for _, el := range []any{lvIOThreads{Count: len(ids.Threads)}, ids, tune} {
		if err := enc.Encode(el); err != nil {
			return fmt.Errorf("place: libvirt XML: %w", err)
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw)
	writeVirsh(bw, d, roles, tune, or(o.Domain, "DOMAIN"), withPoll)
	return bw.Flush()
}

// libvirtElements builds <iothreadids> and <cputune>.
func libvirtElements(d *Document, roles []threadRole, withPoll bool) (lvIOThreadIDs, lvCPUTune) {
	var ids lvIOThreadIDs
	var tune lvCPUTune
	for i, t := range d.Threads {
		r := roles[i]
		if r.vcpu {
			tune.VCPUPins = append(tune.VCPUPins, lvVCPUPin{VCPU: r.id, CPUSet: t.CPUs})
			continue
		}
		th := lvIOThread{ID: r.id + 1}
		if withPoll {
			th.Poll = &lvPoll{Max: d.PollMaxNs}
		}
		ids.Threads = append(ids.Threads, th)
		tune.IOThreadPin = append(tune.IOThreadPin, lvIOThreadPin{IOThread: r.id + 1, CPUSet: t.CPUs})
	}
	if len(tune.VCPUPins) > 0 {
		if free := d.freeCPUs(); free != "" {
			tune.EmulatorPin = &lvEmulatorPin{CPUSet: free}
		}
	}
	return ids, tune
}

// writeVirsh writes the virsh lines for a running domain.
func writeVirsh(w io.Writer, d *Document, roles []threadRole, tune lvCPUTune, domain string, withPoll bool) {
	dom := shellWord(domain)
	comment(w, "A running domain (virsh):")
	for _, p := range tune.IOThreadPin {
		fmt.Fprintf(w, "virsh iothreadpin %s %d %s\n", dom, p.IOThread, p.CPUSet)
	}
	for _, p := range tune.VCPUPins {
		fmt.Fprintf(w, "virsh vcpupin %s %d %s\n", dom, p.VCPU, p.CPUSet)
	}
	if tune.EmulatorPin != nil {
		fmt.Fprintf(w, "virsh emulatorpin %s %s\n", dom, tune.EmulatorPin.CPUSet)
	}
	if !withPoll {
		comment(w, "This libvirt has no <poll> in <iothreadids>: set the poll window on the running domain.")
	}
	for _, p := range tune.IOThreadPin {
		fmt.Fprintf(w, "virsh iothreadset %s %d --poll-max-ns %d --poll-grow 0 --poll-shrink 0 --live\n", dom, p.IOThread, d.PollMaxNs)
	}
	comment(w, "poll-max-ns: "+d.PollNote)
}

// libvirtHasPoll parses a libvirt version ("9.0", "10.2.0"; "" is the
// newest) and reports whether it takes <poll> in <iothreadids>.
func libvirtHasPoll(version string) (bool, error) {
	if version == "" {
		return true, nil
	}
	parts := strings.Split(version, ".")
	if len(parts) > 3 {
		return false, fmt.Errorf("place: libvirt version %q: want MAJOR.MINOR or MAJOR.MINOR.MICRO", version)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 1000 {
			return false, fmt.Errorf("place: libvirt version %q: want MAJOR.MINOR or MAJOR.MINOR.MICRO", version)
		}
		v[i] = n
	}
	return v[0] > libvirtPollSince[0] || v[0] == libvirtPollSince[0] && v[1] >= libvirtPollSince[1], nil
}

// xmlComment makes s safe inside an XML comment ("--" may not appear).
func xmlComment(s string) string {
	s = oneLine(s)
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	return strings.TrimSuffix(s, "-")
}
