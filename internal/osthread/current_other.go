//go:build !amd64 && !arm64

package osthread

const haveCurrentM = false

// currentM is not available on this architecture: Current uses gettid.
func currentM() uintptr { return 0 }
