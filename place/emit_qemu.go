package place

import (
	"bufio"
	"fmt"
	"io"

	"github.com/pinbench/pinbench/affinity"
)

// threadRole is what a thread is in a VM: an iothread or a vCPU, with its
// index among those (iothread k is QEMU's "io<k>" and libvirt's id k+1).
type threadRole struct {
	vcpu bool
	id   int
}

// roles assigns each thread its role. With vcpus > 0 the plan must be
// pairs, and the second thread of each of the first vcpus pairs is a vCPU
// (pair k: threads 2k and 2k+1); every other thread is an iothread.
func (d *Document) roles(vcpus int) ([]threadRole, error) {
	out := make([]threadRole, len(d.Threads))
	if vcpus < 0 {
		return nil, fmt.Errorf("place: vcpus %d is negative", vcpus)
	}
	if vcpus > 0 && d.Workload.Pattern != PatternPairs {
		return nil, fmt.Errorf("place: vcpus applies to a pairs plan (an iothread and the vCPU it serves), not to pattern %s", d.Workload.Pattern)
	}
	if pairs := len(d.Threads) / 2; vcpus > pairs {
		return nil, fmt.Errorf("place: vcpus %d, but the plan has %d pairs: one vCPU per pair at most", vcpus, pairs)
	}
	io := 0
	for i := range d.Threads {
		if i%2 == 1 && i/2 < vcpus {
			out[i] = threadRole{vcpu: true, id: i / 2}
			continue
		}
		out[i] = threadRole{id: io}
		io++
	}
	return out, nil
}

// freeCPUs returns the usable CPUs no thread uses, list form; "" when
// none are left.
func (d *Document) freeCPUs() string {
	usable, err := affinity.ParseList(d.Usable)
	if err != nil {
		return ""
	}
	return usable.Difference(d.allCPUs()).String()
}

// emitQEMU writes QEMU's -object iothread options with the poll window,
// then the pinning step QEMU leaves to the caller: each iothread's (and
// vCPU's) thread id from QMP, then taskset.
func emitQEMU(w io.Writer, d *Document, o EmitOptions) error {
	roles, err := d.roles(o.VCPUs)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	comment(bw, d.headline())
	comment(bw, "QEMU options, one iothread each (poll-grow=0, poll-shrink=0: QEMU's built-in factors):")
	for _, r := range roles {
		if !r.vcpu {
			fmt.Fprintf(bw, "-object iothread,id=io%d,poll-max-ns=%d,poll-grow=0,poll-shrink=0\n", r.id, d.PollMaxNs)
		}
	}
	comment(bw, "poll-max-ns: "+d.PollNote)
	comment(bw, `QEMU does not pin iothreads. Once it runs, ask QMP {"execute": "query-iothreads"} for each`)
	comment(bw, `iothread's "thread-id" and pin it, replacing TID_io<k> with the thread-id of id io<k>:`)
	for i, r := range roles {
		if !r.vcpu {
			fmt.Fprintf(bw, "taskset -pc %s TID_io%d  # %s\n", d.Threads[i].CPUs, r.id, d.Threads[i].Name)
		}
	}
	if o.VCPUs > 0 {
		comment(bw, `vCPUs: QMP {"execute": "query-cpus-fast"} gives each vCPU's "thread-id" by "cpu-index"; replace TID_vcpu<k>:`)
		for i, r := range roles {
			if r.vcpu {
				fmt.Fprintf(bw, "taskset -pc %s TID_vcpu%d  # %s\n", d.Threads[i].CPUs, r.id, d.Threads[i].Name)
			}
		}
	}
	return bw.Flush()
}
