package lab

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// Archive collects the files of an initramfs and writes them as a cpio
// archive in the "newc" format (the kernel's initramfs format, which
// `cpio -H newc` writes). Paths are relative to the archive's root, with
// slashes; parent folders are added as they are needed.
type Archive struct {
	entries map[string]entry
}

// entry is one member of an Archive.
type entry struct {
	mode fs.FileMode // type and permission bits
	data []byte      // file content or link target
	src  string      // when set, the file to read the content from at write time
}

// NewArchive returns an empty archive.
func NewArchive() *Archive { return &Archive{entries: map[string]entry{}} }

// clean checks an archive path and returns it without a leading slash.
func clean(name string) (string, error) {
	c := path.Clean(strings.TrimPrefix(name, "/"))
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("lab: archive path %q is not inside the archive", name)
	}
	return c, nil
}

// Dir adds a folder and its parents.
func (a *Archive) Dir(name string) error {
	c, err := clean(name)
	if err != nil {
		return err
	}
	for d := c; d != "."; d = path.Dir(d) {
		if e, ok := a.entries[d]; ok {
			if !e.mode.IsDir() {
				return fmt.Errorf("lab: archive path %q is a file and a folder", d)
			}
			continue
		}
		a.entries[d] = entry{mode: fs.ModeDir | 0o755}
	}
	return nil
}

// add records a non-folder entry at name, creating its parent folders.
func (a *Archive) add(name string, e entry) error {
	c, err := clean(name)
	if err != nil {
		return err
	}
	if old, ok := a.entries[c]; ok && old.mode.IsDir() {
		return fmt.Errorf("lab: archive path %q is a folder and a file", c)
	}
	if d := path.Dir(c); d != "." {
		if err := a.Dir(d); err != nil {
			return err
		}
	}
	a.entries[c] = e
	return nil
}

// Bytes adds a file with the given content and permission bits.
func (a *Archive) Bytes(name string, data []byte, perm fs.FileMode) error {
	return a.add(name, entry{mode: perm.Perm(), data: data})
}

// File adds the file src (read when the archive is written) at name, with
// src's permission bits. src must be a regular file.
func (a *Archive) File(name, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("lab: adding %s to the initramfs: %w", src, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("lab: adding %s to the initramfs: not a regular file", src)
	}
	return a.add(name, entry{mode: st.Mode().Perm(), src: src})
}

// Symlink adds a symbolic link at name pointing to target.
func (a *Archive) Symlink(name, target string) error {
	return a.add(name, entry{mode: fs.ModeSymlink | 0o777, data: []byte(target)})
}

// Tree adds every folder, regular file and symbolic link (as a link, to
// the same target) under the folder src at name. Names for which skip
// returns true, and what is below them, are left out; skip may be nil.
func (a *Archive) Tree(name, src string, skip func(rel string, d fs.DirEntry) bool) error {
	return fs.WalkDir(os.DirFS(src), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("lab: adding %s to the initramfs: %w", src, err)
		}
		if rel != "." && skip != nil && skip(rel, d) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		dst := path.Join(name, rel)
		switch {
		case d.IsDir():
			return a.Dir(dst)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path.Join(src, rel))
			if err != nil {
				return fmt.Errorf("lab: adding %s to the initramfs: %w", src, err)
			}
			return a.Symlink(dst, target)
		}
		return a.File(dst, path.Join(src, rel))
	})
}

// Len returns the number of entries, folders included.
func (a *Archive) Len() int { return len(a.entries) }

// Has reports whether the archive holds name.
func (a *Archive) Has(name string) bool {
	c, err := clean(name)
	if err != nil {
		return false
	}
	_, ok := a.entries[c]
	return ok
}

// newc mode bits (from the cpio format's st_mode).
const (
	cpioDir     = 0o040000
	cpioRegular = 0o100000
	cpioSymlink = 0o120000
)

// WriteTo writes the archive in the newc format, folders before what they
// hold, ending with the TRAILER!!! entry. It returns the bytes written.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names) // a folder sorts before its contents
	cw := &countWriter{w: w}
	for i, n := range names {
		e := a.entries[n]
		data := e.data
		if e.src != "" {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return cw.n, fmt.Errorf("lab: writing the initramfs: %w", err)
			}
			data = b
		}
		var mode uint32
		switch {
		case e.mode.IsDir():
			mode = cpioDir
		case e.mode&fs.ModeSymlink != 0:
			mode = cpioSymlink
		default:
			mode = cpioRegular
		}
		mode |= uint32(e.mode.Perm())
		nlink := 1
		if e.mode.IsDir() {
			nlink = 2
		}
		if err := writeNewc(cw, uint32(i+1), mode, uint32(nlink), n, data); err != nil {
			return cw.n, err
		}
	}
	if err := writeNewc(cw, 0, 0, 1, "TRAILER!!!", nil); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// writeNewc writes one newc header, the name and the data, each padded to
// four bytes.
func writeNewc(w io.Writer, ino, mode, nlink uint32, name string, data []byte) error {
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize (with the NUL), check
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if n := len(data) % 4; n != 0 {
		_, err := w.Write(make([]byte, 4-n))
		return err
	}
	return nil
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
