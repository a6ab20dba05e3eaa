// Package cpuname gives the CPU's name exactly as `go test -bench` prints
// it on its "cpu:" line, so that results written by pinbench and by a go
// test binary on one machine carry the same configuration and benchstat
// does not split them.
//
// Go computes that name in internal/sysinfo, which no program outside the
// standard library may import. On x86 it is the cpuid brand string with
// its leading spaces trimmed and cut at the first NUL, trailing spaces
// kept; klauspost/cpuid, which affinity uses, trims both ends, so the two
// differ on CPUs whose brand string is padded at the end (seen on AMD
// virtual machines). Hence the few lines here.
package cpuname

// Name returns the brand string as Go's testing package prints it, or ""
// where this package cannot compute it (other architectures, or a CPU
// without the brand string leaves); the caller then falls back to its
// own name, which Go derives from /proc/cpuinfo there too.
func Name() string { return name() }

// brand turns the 48 bytes of cpuid leaves 0x80000002-0x80000004 into
// the name as Go's internal/cpu.Name does.
func brand(data []byte) string {
	for len(data) > 0 && data[0] == ' ' {
		data = data[1:]
	}
	for i, c := range data {
		if c == 0 {
			data = data[:i]
			break
		}
	}
	return string(data)
}
