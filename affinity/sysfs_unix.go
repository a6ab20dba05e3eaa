//go:build unix

package affinity

import (
	"os"
	"syscall"
)

// openNoFollow opens path for reading without following a final symbolic
// link (the open fails instead) and without blocking: a FIFO opens at once,
// with no writer, and is then refused as not a regular file.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
