package lab

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cpioMember is one entry read back from a newc archive.
type cpioMember struct {
	mode uint32
	data string
}

// readNewc parses a newc archive strictly: magic, hex fields, the NUL
// after each name, four-byte alignment, and the trailer at the end.
func readNewc(t *testing.T, b []byte) (names []string, members map[string]cpioMember) {
	t.Helper()
	members = map[string]cpioMember{}
	off := 0
	align := func() {
		for off%4 != 0 {
			if b[off] != 0 {
				t.Fatalf("offset %d: padding byte %#x, want 0", off, b[off])
			}
			off++
		}
	}
	for {
		if off+110 > len(b) {
			t.Fatalf("archive ends at %d without a trailer", off)
		}
		hdr := string(b[off : off+110])
		if hdr[:6] != "070701" {
			t.Fatalf("offset %d: magic %q", off, hdr[:6])
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(hdr[6+8*i:14+8*i], 16, 32)
			if err != nil {
				t.Fatalf("offset %d: field %d: %v", off, i, err)
			}
			return uint32(v)
		}
		mode, size, namesize := field(1), int(field(6)), int(field(11))
		off += 110
		name := string(b[off : off+namesize])
		if !strings.HasSuffix(name, "\x00") {
			t.Fatalf("name %q not NUL-terminated", name)
		}
		name = strings.TrimSuffix(name, "\x00")
		off += namesize
		align()
		data := string(b[off : off+size])
		off += size
		align()
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return names, members
		}
		names = append(names, name)
		members[name] = cpioMember{mode, data}
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tool")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tree", "testdata", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tree/a.txt", "tree/testdata/b.txt", "tree/testdata/.git/x", "tree/x.test"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A link to a folder stays a link (results/<machine>/latest).
	if err := os.Symlink("testdata", filepath.Join(dir, "tree", "latest")); err != nil {
		t.Fatal(err)
	}
	a := NewArchive()
	for _, err := range []error{
		a.Bytes("/init", []byte("abc"), 0o755),
		a.File("lab/bin/tool", src),
		a.Symlink("bin/sh", "busybox"),
		a.Dir("proc"),
		a.Tree("lab/repo", filepath.Join(dir, "tree"), skipRepo),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := a.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d", n, err, buf.Len())
	}
	names, m := readNewc(t, buf.Bytes())
	want := map[string]cpioMember{
		"init":                    {cpioRegular | 0o755, "abc"},
		"lab":                     {cpioDir | 0o755, ""},
		"lab/bin":                 {cpioDir | 0o755, ""},
		"lab/bin/tool":            {cpioRegular | 0o755, "#!/bin/sh\necho hi\n"},
		"bin":                     {cpioDir | 0o755, ""},
		"bin/sh":                  {cpioSymlink | 0o777, "busybox"},
		"proc":                    {cpioDir | 0o755, ""},
		"lab/repo":                {cpioDir | 0o755, ""},
		"lab/repo/a.txt":          {cpioRegular | 0o644, "tree/a.txt"},
		"lab/repo/testdata":       {cpioDir | 0o755, ""},
		"lab/repo/testdata/b.txt": {cpioRegular | 0o644, "tree/testdata/b.txt"},
		"lab/repo/latest":         {cpioSymlink | 0o777, "testdata"},
	}
	if len(m) != len(want) {
		t.Errorf("archive holds %q, want %d entries", names, len(want))
	}
	for name, w := range want {
		if got, ok := m[name]; !ok || got != w {
			t.Errorf("%s: %+v (present %v), want mode %o data %q", name, got, ok, w.mode, w.data)
		}
	}
	// Folders come before what they hold, as the kernel needs.
	seen := map[string]bool{}
	for _, n := range names {
		if d := filepath.Dir(n); d != "." && !seen[d] {
			t.Errorf("%s comes before its folder %s", n, d)
		}
		seen[n] = true
	}
}

func TestArchiveRejectsBadPaths(t *testing.T) {
	a := NewArchive()
	if err := a.Bytes("../escape", nil, 0o644); err == nil {
		t.Error("a path above the root was accepted")
	}
	if err := a.Bytes("x/y", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Bytes("x", nil, 0o644); err == nil || !strings.Contains(err.Error(), "folder and a file") {
		t.Errorf("a file over a folder: %v", err)
	}
	if err := a.Dir("x/y/z"); err == nil || !strings.Contains(err.Error(), "file and a folder") {
		t.Errorf("a folder under a file: %v", err)
	}
	if err := a.File("f", filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing source file: %v", err)
	}
}
