//go:build unix

package affinity

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// discoverWithin runs DiscoverRoot(root) and fails the test if it has not
// returned within 10 s (a FIFO opened for reading blocks until a writer
// comes).
func discoverWithin(t *testing.T, root string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := DiscoverRoot(root)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("DiscoverRoot(%s) still running after 10s", root)
		return nil
	}
}

// releaseFIFO opens the FIFO at path for writing without blocking, so a
// reader stuck opening it (before the fix) returns.
func releaseFIFO(path string) {
	if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// Hostile sysfs files (issue 20, item 4): each is refused with one error
// naming the file, without reading more than the bound, following a link
// or waiting for a writer.
func TestHostileSysfsFiles(t *testing.T) {
	const online = "sys/devices/system/cpu/cpu1/online"
	cases := []struct {
		name, rel, want string
		make            func(t *testing.T, path string)
	}{
		{"oversized", online, "larger than", func(t *testing.T, path string) {
			write(t, filepath.Dir(path), "online", "1\n")
			if err := os.Truncate(path, 64<<20); err != nil {
				t.Fatal(err)
			}
		}},
		{"link to /dev/zero", online, "symbolic link", func(t *testing.T, path string) {
			symlink(t, "/dev/zero", path)
		}},
		{"link to a regular file", "sys/devices/system/cpu/cpu1/topology/core_id", "symbolic link", func(t *testing.T, path string) {
			symlink(t, "../../cpu2/topology/core_id", path)
		}},
		{"fifo", online, "not a regular file", mkfifo},
		{"fifo for a folder", "sys/devices/system/cpu/cpu1/cache", "not a directory", mkfifo},
		{"folder", online, "not a regular file", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := copyFixture(t, "two-socket-smt")
			path := filepath.Join(root, c.rel)
			os.RemoveAll(path)
			c.make(t, path)
			defer releaseFIFO(path)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := discoverWithin(t, root)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), path+":") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v; want one naming %s and saying %q", err, path, c.want)
			}
			if n := strings.Count(err.Error(), c.rel); n != 1 {
				t.Errorf("error %v names the file %d times", err, n)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
				t.Errorf("discovery allocated %d MiB", got>>20)
			}
		})
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}
