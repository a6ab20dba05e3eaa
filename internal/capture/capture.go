// Package capture reads sysfs captures: a folder holding sys/ (and proc/),
// or a .tar.gz, .tgz or .tar.bz2 archive of one, read by its own bounded
// tar reader into memory (Discover) or extracted (Root).
package capture

import (
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/pinbench/pinbench/affinity"
)

// maxCaptureEntries and maxCaptureBytes bound what a capture archive may
// hold. hwloc's captures take about 75 entries and 1 to 2 KB of data a CPU
// (9729 entries and 148 KB for 128 CPUs, 205 KB at most), so a capture of
// 8192 CPUs has some 620 thousand entries and 12 MB; the bounds leave room
// beyond that, and stop a small archive that expands without end (gzip
// expands up to a thousandfold).
const (
	maxCaptureEntries = 1 << 20
	maxCaptureBytes   = 256 << 20
)

// Root returns a folder to read the sysfs capture at path from:
// path itself when it is a folder, or, for a .tar.gz, .tgz or .tar.bz2
// archive (the form ../shared/topologies and testdata keep captures in),
// the folder holding sys/ inside a temporary extraction that cleanup
// removes. Archive entries that would land outside the extraction, and
// links, are refused; an archive past maxCaptureEntries or
// maxCaptureBytes is an error. On an error the extraction is removed.
func Root(path string) (dir string, cleanup func(), err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", nil, fmt.Errorf("capture %s: %w", path, err)
	}
	if st.IsDir() {
		return path, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	r, err := decompress(path, f)
	if err != nil {
		return "", nil, fmt.Errorf("capture %s: %w", path, err)
	}
	tmp, err := os.MkdirTemp("", "pinbench-capture")
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if dir == "" { // an error, or a panic on its way up
			os.RemoveAll(tmp)
		}
	}()
	if err := untar(newTarReader(r, maxCaptureEntries, maxCaptureBytes), tmp); err != nil {
		return "", nil, fmt.Errorf("capture %s: %w", path, err)
	}
	found, err := findSys(tmp)
	if err != nil {
		return "", nil, fmt.Errorf("capture %s: %w", path, err)
	}
	return found, func() { os.RemoveAll(tmp) }, nil
}

// Discover discovers the topology of the sysfs capture at path: a folder
// where it lies, an archive read into memory under the same bounds as
// Root's, without extracting it. Extracting costs a file creation per
// entry, which on the 2-core VM's ext4 took about 300 µs (2.3 s for the
// 6,420 entries of the 256-CPU capture), and far more in the lab's
// emulated guests. The topology's Root is path; its Governor, which
// reads sysfs when asked, says "unknown" for an archive.
func Discover(path string) (*affinity.Topology, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	if st.IsDir() {
		return affinity.DiscoverRoot(path)
	}
	fsys, err := readArchive(path)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	return affinity.DiscoverFS(fsys, path)
}

// readArchive returns the folder with sys/ in it of the archive at path,
// read into memory: its folders and regular files, with the entry names,
// depths and limits untarMemory enforces.
func readArchive(path string) (fs.FS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := decompress(path, f)
	if err != nil {
		return nil, err
	}
	files, err := untarMemory(newTarReader(r, maxCaptureEntries, maxCaptureBytes))
	if err != nil {
		return nil, err
	}
	dir, err := findSysFS(files)
	if err != nil || dir == "." {
		return files, err
	}
	return fs.Sub(files, dir)
}

// untarMemory reads the archive's members into an in-memory tree: an
// fstest.MapFS, the standard library's in-memory fs.FS, which serves the
// Stat, Open and ReadDir that discovery asks of a tree. It keeps folders and regular
// files (links and devices: sysfs captures need neither), and the folders
// it adds for a member's parents count against the reader's entry limit.
func untarMemory(tr *tarReader) (fstest.MapFS, error) {
	files := fstest.MapFS{}
	for {
		hdr, err := tr.next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		name, err := localName(hdr.name)
		if err != nil {
			return nil, err
		}
		if hdr.kind != '5' && hdr.kind != '0' && hdr.kind != '7' {
			continue // links and devices: sysfs captures need neither
		}
		if err := addFolders(tr, files, hdr.name, path.Dir(filepath.ToSlash(name))); err != nil {
			return nil, err
		}
		key := filepath.ToSlash(name)
		if old, ok := files[key]; ok && old.Mode.IsDir() != (hdr.kind == '5') {
			return nil, fmt.Errorf("entry %q is both a folder and a file", hdr.name)
		}
		if hdr.kind == '5' {
			files[key] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
			continue
		}
		// Grown as the data arrives, not sized by the header: a truncated
		// archive that claims a large member then costs what it holds.
		// Sysfs files are small, so the copies of growing cost nothing.
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("tar: entry %s: %w", entryName(hdr.name), unexpected(err))
		}
		files[key] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
}

// addFolders adds the folders of rel, the parent of the entry named
// member, that files lacks, charging each one to tr's entry limit.
func addFolders(tr *tarReader, files fstest.MapFS, member, rel string) error {
	for ; rel != "."; rel = path.Dir(rel) {
		if f, ok := files[rel]; ok {
			if !f.Mode.IsDir() {
				return fmt.Errorf("entry %q lies under the file %q", member, rel)
			}
			return nil // and so are its parents
		}
		if err := tr.charge(1); err != nil {
			return err
		}
		files[rel] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
	}
	return nil
}

// decompress returns the tar stream of the archive f at path, by its
// suffix.
func decompress(path string, f io.Reader) (io.Reader, error) {
	switch {
	case strings.HasSuffix(path, ".tar.gz"), strings.HasSuffix(path, ".tgz"):
		return gzip.NewReader(f)
	case strings.HasSuffix(path, ".tar.bz2"):
		return bzip2.NewReader(f), nil
	}
	return nil, errors.New("neither a folder nor a .tar.gz, .tgz or .tar.bz2 archive")
}

// findSys returns the folder with sys/ in it: the extraction itself or one
// below.
func findSys(tmp string) (string, error) {
	dir, err := findSysFS(os.DirFS(tmp))
	return filepath.Join(tmp, filepath.FromSlash(dir)), err
}

// findSysFS returns the folder of fsys with sys/ in it, the first in
// lexical order: "." or one below.
func findSysFS(fsys fs.FS) (string, error) {
	found := ""
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "sys" {
			found = path.Dir(p)
			return fs.SkipAll
		}
		return nil
	})
	if err == nil && found == "" {
		err = errors.New("no sys/ folder inside")
	}
	return found, err
}

// maxCaptureDepth bounds the folders in an entry's name: the deepest path
// in hwloc's captures is 12 (a chain of PCI devices), sysfs's CPU and node
// files 9.
const maxCaptureDepth = 64

// untar writes the archive's folders and regular files under dir: read
// into memory by untarMemory, whose checks and limits it shares, then
// written out, parents first.
func untar(tr *tarReader, dir string) error {
	files, err := untarMemory(tr)
	if err != nil {
		return err
	}
	return writeTree(files, dir)
}

// writeTree writes the folders and files of files under dir. Names sort
// parents first ("a" before "a/b").
func writeTree(files fstest.MapFS, dir string) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		target := filepath.Join(dir, filepath.FromSlash(name))
		f := files[name]
		var err error
		if f.Mode.IsDir() {
			err = os.Mkdir(target, 0o755)
		} else {
			err = os.WriteFile(target, f.Data, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maxNameBytes and maxNameComponent bound an entry's cleaned name and
// each of its components, as Linux bounds a path (PATH_MAX) and a file
// name (NAME_MAX): extraction met them at the kernel, and in memory a GNU
// long name or PAX path may be up to maxTarMeta.
const (
	maxNameBytes     = 4096
	maxNameComponent = 255
)

// localName returns an entry's name cleaned, or an error when it would
// land outside the extraction, is longer than maxNameBytes, has a
// component longer than maxNameComponent, or lies more than
// maxCaptureDepth deep.
func localName(raw string) (string, error) {
	name := filepath.Clean(raw)
	if name == "." || !filepath.IsLocal(name) {
		return "", fmt.Errorf("entry %s lands outside the extraction", entryName(raw))
	}
	if len(name) > maxNameBytes {
		return "", fmt.Errorf("entry %s: a name of %d bytes, more than %d", entryName(raw), len(name), maxNameBytes)
	}
	for part := range strings.SplitSeq(name, string(filepath.Separator)) {
		if len(part) > maxNameComponent {
			return "", fmt.Errorf("entry %s: a name component of %d bytes, more than %d", entryName(raw), len(part), maxNameComponent)
		}
	}
	if strings.Count(name, string(filepath.Separator)) >= maxCaptureDepth {
		return "", fmt.Errorf("entry %s lies more than %d folders deep", entryName(raw), maxCaptureDepth)
	}
	return name, nil
}

// entryName quotes an entry's name for an error message: whole when
// short, else its first 64 bytes and its length, since a long name or PAX
// path may run to maxTarMeta.
func entryName(raw string) string {
	if len(raw) <= 2*64 {
		return fmt.Sprintf("%q", raw)
	}
	return fmt.Sprintf("%q... (%d bytes)", raw[:64], len(raw))
}
