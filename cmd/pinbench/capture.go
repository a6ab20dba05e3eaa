package main

import (
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// captureRoot returns a folder to read the sysfs capture at path from:
// path itself when it is a folder, or, for a .tar.gz, .tgz or .tar.bz2
// archive (the form ../shared/topologies and testdata keep captures in),
// the folder holding sys/ inside a temporary extraction that cleanup
// removes. Archive entries that would land outside the extraction, and
// links, are refused.
func captureRoot(path string) (dir string, cleanup func(), err error) {
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
	var r io.Reader
	switch {
	case strings.HasSuffix(path, ".tar.gz"), strings.HasSuffix(path, ".tgz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return "", nil, fmt.Errorf("capture %s: %w", path, err)
		}
		r = gz
	case strings.HasSuffix(path, ".tar.bz2"):
		r = bzip2.NewReader(f)
	default:
		return "", nil, fmt.Errorf("capture %s: neither a folder nor a .tar.gz, .tgz or .tar.bz2 archive", path)
	}
	tmp, err := os.MkdirTemp("", "pinbench-capture")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	if err := untar(newTarReader(r), tmp); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("capture %s: %w", path, err)
	}
	// The folder with sys/ in it: the extraction itself or one below.
	found := ""
	err = filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "sys" && found == "" {
			found = filepath.Dir(p)
			return filepath.SkipAll
		}
		return nil
	})
	if err == nil && found == "" {
		err = errors.New("no sys/ folder inside")
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("capture %s: %w", path, err)
	}
	return found, cleanup, nil
}

// untar writes the archive's folders and regular files under dir.
func untar(tr *tarReader, dir string) error {
	for {
		hdr, err := tr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(hdr.name)
		if name == "." || filepath.IsAbs(name) || strings.HasPrefix(name, ".."+string(filepath.Separator)) || name == ".." {
			return fmt.Errorf("entry %q lands outside the extraction", hdr.name)
		}
		target := filepath.Join(dir, name)
		switch hdr.kind {
		case '5':
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case '0', '7':
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		// Links and devices are skipped: sysfs captures need neither.
	}
}
