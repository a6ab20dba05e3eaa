package capture

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The capture reader extracts what archive/tar writes in each format:
// folders and regular files, names beyond ustar's 100 bytes (GNU long
// names, PAX path records, the ustar prefix), skipping links; an entry
// that would land outside the extraction, and a damaged header, are
// errors.
func TestTarReaderFormats(t *testing.T) {
	long := "sys/devices/system/cpu/cpu127/cache/index3/" + strings.Repeat("very-long-folder-name/", 4) + "shared_cpu_list"
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatGNU, tar.FormatPAX} {
		t.Run(format.String(), func(t *testing.T) {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			name := long // ustar keeps it in its prefix and name fields
			entries := []struct {
				hdr  tar.Header
				body string
			}{
				{tar.Header{Name: "sys/", Typeflag: tar.TypeDir, Mode: 0o755, Format: format}, ""},
				{tar.Header{Name: "sys/online", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4, Format: format}, "0-1\n"},
				{tar.Header{Name: "sys/link", Typeflag: tar.TypeSymlink, Linkname: "online", Format: format}, ""},
				{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 600, Format: format}, strings.Repeat("7", 600)},
			}
			for _, e := range entries {
				if err := tw.WriteHeader(&e.hdr); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte(e.body)); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			dir := t.TempDir()
			if err := untar(newTarReader(&b, maxCaptureEntries, maxCaptureBytes), dir); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "sys/online")); string(got) != "0-1\n" {
				t.Errorf("sys/online = %q", got)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, name)); len(got) != 600 {
				t.Errorf("%s: %d bytes, want 600", name, len(got))
			}
			if _, err := os.Lstat(filepath.Join(dir, "sys/link")); err == nil {
				t.Error("a link was extracted")
			}
		})
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Size: 0})
	tw.Close()
	if err := untar(newTarReader(bytes.NewReader(b.Bytes()), maxCaptureEntries, maxCaptureBytes), t.TempDir()); err == nil || !strings.Contains(err.Error(), "outside the extraction") {
		t.Errorf("../escape: %v", err)
	}
	bad := bytes.Clone(b.Bytes())
	bad[10] ^= 0xff
	if err := untar(newTarReader(bytes.NewReader(bad), maxCaptureEntries, maxCaptureBytes), t.TempDir()); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("damaged header: %v", err)
	}
	b.Reset()
	tw = tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "sys/online", Typeflag: tar.TypeReg, Size: 600})
	tw.Write(make([]byte, 600))
	tw.Close()
	if err := untar(newTarReader(bytes.NewReader(b.Bytes()[:800]), maxCaptureEntries, maxCaptureBytes), t.TempDir()); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("truncated archive: %v", err)
	}
}

// The reader stops at its limits: past maxEntries headers, past maxBytes
// of member data (counted from the headers, before any is read), and at a
// long-name or PAX header over maxTarMeta; a folder's or link's size
// counts for nothing, as in archive/tar. untar charges the folders it
// makes for a member to the entry limit, and refuses a name more than
// maxCaptureDepth folders deep; untarMemory, under the same limits, does
// the same.
func TestTarReaderLimits(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "sys/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, name := range []string{"sys/a", "sys/b"} {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 600})
		tw.Write(make([]byte, 600))
	}
	tw.Close()
	for _, c := range []struct {
		entries int
		bytes   int64
		want    string
	}{
		{2, 1 << 20, "more than 2 entries"},
		{3, 1000, `entry "sys/b" of 600 bytes takes the archive past 1000 bytes`},
		{3, 1200, ""},
	} {
		for how, err := range readBoth(t, b.Bytes(), c.entries, c.bytes) {
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("%s, limits %d entries, %d bytes: error %v, want %q", how, c.entries, c.bytes, err, c.want)
			}
		}
	}

	dir := tarHeader("sys", '5', base256(1<<56))
	long := append(tarHeader("././@LongLink", 'L', octalSize(fmt.Sprintf("%011o", maxTarMeta+1))), make([]byte, 1024)...)
	for name, c := range map[string]struct {
		archive []byte
		want    string
	}{
		"huge folder size": {append(dir, make([]byte, 1024)...), ""},
		"long name":        {long, "more than 1048576"},
		"parent folders":   {tarHeader("a/b/c/d/e/f/g/h/i/j/online", '0', octalSize("0")), "more than 10 entries"},
		"too deep":         {longNamed(strings.Repeat("a/", maxCaptureDepth) + "online"), "more than 64 folders deep"},
	} {
		for how, err := range readBoth(t, c.archive, 10, 1<<30) {
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("%s, %s: error %v, want %q", how, name, err, c.want)
			}
		}
	}
}

// readBoth reads archive under the limits given both ways, extracting it
// (untar) and into memory (untarMemory), and returns their errors.
func readBoth(t *testing.T, archive []byte, maxEntries int, maxBytes int64) map[string]error {
	_, merr := untarMemory(newTarReader(bytes.NewReader(archive), maxEntries, maxBytes))
	return map[string]error{
		"untar":       untar(newTarReader(bytes.NewReader(archive), maxEntries, maxBytes), t.TempDir()),
		"untarMemory": merr,
	}
}

// withSums writes a valid checksum into every 512-byte block of archive
// that is not all zero, so that fuzzed headers pass the check and reach
// the parsing behind it (a data block changes, which does no harm).
func withSums(archive []byte) {
	for b := archive; len(b) >= 512; b = b[512:] {
		if bytes.Equal(b[:512], make([]byte, 512)) {
			continue
		}
		copy(b[148:156], "        ")
		var sum int
		for _, c := range b[:512] {
			sum += int(c)
		}
		copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	}
}

// longNamed is an empty regular file named name through a GNU long-name
// header.
func longNamed(name string) []byte {
	b := tarHeader("././@LongLink", 'L', octalSize(fmt.Sprintf("%011o", len(name))))
	b = append(b, name...)
	b = append(b, make([]byte, blockPad(int64(len(name))))...)
	return append(b, tarHeader("x", '0', octalSize("0"))...)
}

// FuzzTarReader extracts fuzzed archives (with their header checksums
// made valid), seeded with archive/tar's three formats and the hostile
// size fields: untar never panics, and what it writes stays within its
// limits, as folders and regular files only; untarMemory never panics
// either, and what it keeps stays within the same limits.
func FuzzTarReader(f *testing.F) {
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatGNU, tar.FormatPAX} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Name: "sys/", Typeflag: tar.TypeDir, Mode: 0o755, Format: format})
		tw.WriteHeader(&tar.Header{Name: "sys/" + strings.Repeat("n", 120), Typeflag: tar.TypeReg, Mode: 0o644, Size: 4, Format: format})
		tw.Write([]byte("0-1\n"))
		tw.WriteHeader(&tar.Header{Name: "sys/link", Typeflag: tar.TypeSymlink, Linkname: "/dev/zero", Format: format})
		tw.Close()
		f.Add(b.Bytes())
	}
	for _, size := range hostileSizes {
		for _, kind := range []byte{'0', 'L', 'x', '5', 'g'} {
			f.Add(tarHeader("sys/online", kind, size))
		}
	}
	f.Add(longNamed(strings.Repeat("a/", maxCaptureDepth) + "online"))
	const maxEntries, maxBytes = 16, 1 << 16
	f.Fuzz(func(t *testing.T, archive []byte) {
		dir := t.TempDir()
		withSums(archive)
		untar(newTarReader(bytes.NewReader(archive), maxEntries, maxBytes), dir)
		var size int64
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || p == dir {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() && !fi.IsDir() {
				t.Errorf("%s: mode %s", p, fi.Mode())
			}
			size += fi.Size()
			return nil
		})
		if size > maxBytes {
			t.Errorf("wrote %d bytes, more than %d", size, maxBytes)
		}
		files, err := untarMemory(newTarReader(bytes.NewReader(archive), maxEntries, maxBytes))
		if err != nil {
			return
		}
		if len(files) > maxEntries {
			t.Errorf("kept %d entries in memory, more than %d", len(files), maxEntries)
		}
		size = 0
		for name, f := range files {
			if len(name) > maxNameBytes {
				t.Errorf("kept a name of %d bytes, more than %d", len(name), maxNameBytes)
			}
			size += int64(len(f.Data))
		}
		if size > maxBytes {
			t.Errorf("kept %d bytes in memory, more than %d", size, maxBytes)
		}
	})
}
