package handoff

import (
	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/harness"
)

// watchedSend is the sender's side of a sampled hop under an
// outlier.Watch: its CPU, the clock, the watch's send hook, its CPU
// again. The second getcpu is inside the timed hop (a few hundred
// nanoseconds at most, on every watched sample alike).
func (h *handoff) watchedSend(me, hop int) {
	h.sendCPU[0] = affinity.CurrentCPU()
	h.lastCPU[me] = h.sendCPU[0]
	h.sentAt = harness.MonoNow()
	h.cfg.Outliers.Sent(hop)
	h.sendCPU[1] = affinity.CurrentCPU()
}

// watchedArrival is the receiver's side of a sampled hop of ns
// nanoseconds under an outlier.Watch: its CPU now against the one it had
// at the last sampled hop it handled, and the outlier check. The
// sender's fields were written before its push, which the drain that
// entered us read after: they are visible here.
func (h *handoff) watchedArrival(me, hop int, ns int64) {
	before, after := h.lastCPU[me], affinity.CurrentCPU()
	h.lastCPU[me] = after
	rec, out := h.cfg.Outliers.Check(hop, h.sentAt, ns)
	if !out {
		return
	}
	rec.Sender, rec.Receiver = h.threads[1-me].Context().TraceLabel(), h.threads[me].Context().TraceLabel()
	rec.SenderCPU, rec.ReceiverCPU = h.sendCPU, [2]int{before, after}
	h.cfg.Outliers.Report(rec)
}
