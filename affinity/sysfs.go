package affinity

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file holds the reading of sysfs files: the sysReader that names
// each file by its path under the root, and its typed reads (integers, CPU
// sets, numbered folders).

// sysReader reads sysfs files through fsys, naming the file in errors by its
// path under root (fsys is os.DirFS(root) in discovery, an fstest.MapFS in a
// test).
type sysReader struct {
	fsys fs.FS
	root string
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

// read returns the trimmed content of a file; ok is false when it does not
// exist.
func (r sysReader) read(rel string) (s string, ok bool, err error) {
	b, err := fs.ReadFile(r.fsys, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("affinity: %w", r.rooted(err, rel))
	}
	return trimSysfs(string(b)), true, nil
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
	if list != "" {
		s, ok, err := r.read(list)
		if err != nil {
			return CPUSet{}, false, err
		}
		if ok {
			set, err := ParseList(s)
			if err != nil {
				return CPUSet{}, false, &PathError{r.path(list), err}
			}
			return set, true, nil
		}
	}
	if mask != "" {
		s, ok, err := r.read(mask)
		if err != nil {
			return CPUSet{}, false, err
		}
		if ok {
			set, err := ParseMask(s)
			if err != nil {
				return CPUSet{}, false, &PathError{r.path(mask), err}
			}
			return set, true, nil
		}
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
