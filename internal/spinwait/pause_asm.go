//go:build amd64 || arm64

package spinwait

// Pause tells the CPU that the caller is in a spin-wait loop: one x86 PAUSE
// or arm64 YIELD. It takes about 10 to 140 cycles, depending on the core,
// and does not give up the CPU. Call it once per
// round of a loop that polls memory another core will write.
func Pause()
