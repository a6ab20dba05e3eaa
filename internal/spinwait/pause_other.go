//go:build !amd64 && !arm64

package spinwait

// Pause tells the CPU that the caller is in a spin-wait loop. This
// architecture gets no hint: it returns at once.
func Pause() {}
