//go:build !linux

package affinity

// Discover reads the live machine; only Linux is supported (DiscoverRoot
// works everywhere).
func Discover() (*Topology, error) { return nil, errNotLinux }
