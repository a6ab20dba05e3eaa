package affinity

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file holds the reading of sysfs files: the sysReader that names
// each file by its path under the root, and its typed reads (integers, CPU
// sets, numbered folders).

// maxSysfsFile bounds one sysfs file that discovery reads. The largest of
// them on real machines are the CPU lists and masks of cache and node
// files, a few KB even with 4096 CPUs; a list of MaxCPUs (65536) CPUs at
// its longest ("0,2,4,...") is about 190 KB, so 1 MiB is generous, and a
// capture's 64 MiB online file costs no more than this.
const maxSysfsFile = 1 << 20

// maxCPUInfo bounds proc/cpuinfo, which holds a block per CPU: about 1.5 KB
// on x86 (the flags line is most of it), so 12 MiB with 8192 CPUs, the
// largest NR_CPUS of x86 and arm64 kernels.
const maxCPUInfo = 32 << 20

// sysReader reads sysfs files through fsys, naming the file in errors by its
// path under root (fsys is os.DirFS(root) in discovery, an fstest.MapFS in a
// test). When dir is set, fsys is os.DirFS(dir), and files are opened through
// the operating system without following a final symbolic link or waiting
// for a FIFO's writer (openNoFollow).
type sysReader struct {
	fsys fs.FS
	root string
	dir  string
}

func (r sysReader) path(rel string) string { return filepath.Join(r.root, rel) }

// rooted names the file of an *fs.PathError by its path under root, as the
// operating system would, rather than by its name in fsys.
func (r sysReader) rooted(err error, rel string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == rel {
		pe.Path = r.path(rel)
	}
	return err
}

// read returns the trimmed content of a file of at most maxSysfsFile bytes;
// ok is false when it does not exist.
func (r sysReader) read(rel string) (s string, ok bool, err error) {
	return r.readMax(rel, maxSysfsFile)
}

// readMax is read for a file of at most limit bytes.
func (r sysReader) readMax(rel string, limit int64) (s string, ok bool, err error) {
	b, err := r.readFile(rel, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return trimSysfs(string(b)), true, nil
}

// readFile returns the content of the regular file rel, refusing a symbolic
// link (sysfs has none among the files discovery reads), a FIFO, a device
// or a folder, and a file of more than limit bytes, with an error naming
// the file; it reads at most limit+1 bytes.
func (r sysReader) readFile(rel string, limit int64) ([]byte, error) {
	fi, err := fs.Lstat(r.fsys, rel)
	if err != nil {
		return nil, fmt.Errorf("affinity: %w", r.rooted(err, rel))
	}
	if err := r.regular(rel, fi); err != nil {
		return nil, err
	}
	f, err := r.open(rel)
	if err != nil {
		return nil, fmt.Errorf("affinity: %w", r.rooted(err, rel))
	}
	defer f.Close()
	// Checked again on what was opened: the file may have changed since.
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("affinity: %w", r.rooted(err, rel))
	}
	if err := r.regular(rel, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("affinity: %w", r.rooted(err, rel))
	}
	if int64(len(b)) > limit {
		return nil, &PathError{r.path(rel), fmt.Errorf("larger than %d bytes, more than such a file holds", limit)}
	}
	return b, nil
}

// open opens rel for reading: through the operating system without
// following a symbolic link or blocking when r.dir is set, else through
// fsys.
func (r sysReader) open(rel string) (fs.File, error) {
	if r.dir == "" {
		return r.fsys.Open(rel)
	}
	f, err := openNoFollow(filepath.Join(r.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err // an *fs.PathError naming the file
	}
	return f, nil
}

// regular returns a *PathError unless fi describes a regular file.
func (r sysReader) regular(rel string, fi fs.FileInfo) error {
	switch m := fi.Mode(); {
	case m.IsRegular():
		return nil
	case m&fs.ModeSymlink != 0:
		return &PathError{r.path(rel), errors.New("a symbolic link, not a regular file (sysfs has none here)")}
	default:
		return &PathError{r.path(rel), fmt.Errorf("not a regular file (mode %s)", m)}
	}
}

// readInt reads a decimal integer; ok is false when the file does not exist.
func (r sysReader) readInt(rel string) (n int, ok bool, err error) {
	s, ok, err := r.read(rel)
	if !ok || err != nil {
		return 0, ok, err
	}
	n, err = strconv.Atoi(s)
	if err != nil {
		return 0, false, &PathError{r.path(rel), fmt.Errorf("malformed integer %s", quote(s))}
	}
	return n, true, nil
}

// readSet reads a CPU set from list (the *_list file) or, when that is
// missing, mask (the hex file); either name may be "". ok is false when
// neither exists.
func (r sysReader) readSet(list, mask string) (set CPUSet, ok bool, err error) {
	for _, f := range []struct {
		name  string
		parse func(string) (CPUSet, error)
	}{{list, ParseList}, {mask, ParseMask}} {
		if f.name == "" {
			continue
		}
		s, ok, err := r.read(f.name)
		if err != nil {
			return CPUSet{}, false, err
		}
		if !ok {
			continue
		}
		set, err := f.parse(s)
		if err != nil {
			return CPUSet{}, false, &PathError{r.path(f.name), err}
		}
		return set, true, nil
	}
	return CPUSet{}, false, nil
}

// numbered lists the entries of dir named prefix+N, as sorted numbers.
func (r sysReader) numbered(dir, prefix string) ([]int, bool, error) {
	ents, err := fs.ReadDir(r.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("affinity: %w", r.rooted(err, dir))
	}
	var ns []int
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || rest == "" {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			continue // cpufreq, cpuidle, ...
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns, true, nil
}
