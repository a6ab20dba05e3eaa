package main

import (
	"archive/tar"
	"bytes"
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
			if err := untar(newTarReader(&b), dir); err != nil {
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
	if err := untar(newTarReader(bytes.NewReader(b.Bytes())), t.TempDir()); err == nil || !strings.Contains(err.Error(), "outside the extraction") {
		t.Errorf("../escape: %v", err)
	}
	bad := bytes.Clone(b.Bytes())
	bad[10] ^= 0xff
	if err := untar(newTarReader(bytes.NewReader(bad)), t.TempDir()); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("damaged header: %v", err)
	}
	b.Reset()
	tw = tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "sys/online", Typeflag: tar.TypeReg, Size: 600})
	tw.Write(make([]byte, 600))
	tw.Close()
	if err := untar(newTarReader(bytes.NewReader(b.Bytes()[:800])), t.TempDir()); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("truncated archive: %v", err)
	}
}
