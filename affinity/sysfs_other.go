//go:build !unix

package affinity

import "os"

// openNoFollow opens path for reading; without O_NOFOLLOW here, the
// caller's Lstat before the open is what refuses a symbolic link.
func openNoFollow(path string) (*os.File, error) {
	return os.Open(path)
}
