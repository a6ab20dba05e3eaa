package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarHeader is one ustar header block for name, of type kind, whose size
// field holds size as given (octal text or GNU base-256), with a valid
// checksum.
func tarHeader(name string, kind byte, size [12]byte) []byte {
	hdr := make([]byte, 512)
	copy(hdr[0:100], name)
	copy(hdr[100:108], "0000644\x00")
	copy(hdr[124:136], size[:])
	hdr[156] = kind
	copy(hdr[257:265], "ustar\x0000")
	copy(hdr[148:156], "        ")
	var sum int
	for _, c := range hdr {
		sum += int(c)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return hdr
}

// octalSize and base256 are a size field's two forms.
func octalSize(s string) (f [12]byte) { copy(f[:], s); return f }

func base256(v int64) (f [12]byte) {
	binary.BigEndian.PutUint64(f[4:], uint64(v))
	if v < 0 {
		copy(f[:4], []byte{0xff, 0xff, 0xff, 0xff})
	} else {
		f[0] = 0x80
	}
	return f
}

// hostileSizes are size fields that once made the capture reader panic
// (makeslice, slice bounds) or run out of memory.
var hostileSizes = map[string][12]byte{
	"-1":       base256(-1),
	"octal -1": octalSize("-0000000001"),
	"4 TiB":    base256(4 << 40),
	"2^56":     base256(1 << 56),
}

// gzipped compresses b.
func gzipped(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// A capture under 100 bytes whose one header gives a hostile size, as a
// regular file, a GNU long name or PAX records: Root (and so `tune --plan
// --root`) and Discover answer with one error naming the capture, without
// a panic, and Root leaves no extraction folder behind.
func TestCaptureHostileSizes(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp) // where Root extracts
	for sizeName, size := range hostileSizes {
		for _, kind := range []byte{'0', 'L', 'x'} {
			t.Run(fmt.Sprintf("%c/%s", kind, sizeName), func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("%c-%x.tar.gz", kind, size))
				data := gzipped(t, tarHeader("sys/online", kind, size))
				if len(data) >= 100 {
					t.Fatalf("the capture is %d bytes, want under 100", len(data))
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				_, _, err := Root(path)
				_, derr := Discover(path)
				for _, err := range []error{err, derr} {
					if err == nil || strings.Count(err.Error(), path) != 1 {
						t.Errorf("error %v; want one naming %s once", err, path)
					}
					if want := "limit"; size[0] == 0x80 && (err == nil || !strings.Contains(err.Error(), want)) {
						t.Errorf("error %v; want it to say %q", err, want)
					}
				}
				if left, _ := os.ReadDir(tmp); len(left) != 0 {
					t.Errorf("left behind in the temporary folder: %v", left)
					os.RemoveAll(filepath.Join(tmp, left[0].Name()))
				}
			})
		}
	}
}

// Every error path of Root removes its extraction: a damaged
// header, an escaping name, a truncated member, an archive without sys/,
// a file then a folder of one name, a name component over 255 bytes or a
// name over 4096 bytes; Discover refuses each one too, naming the
// capture, and where want is given both errors say it.
func TestCaptureRemovesExtraction(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp) // where Root extracts
	good := tarHeader("x/sys/online", '0', octalSize("00000000004"))
	damaged := bytes.Clone(good)
	damaged[0] ^= 0xff
	end := make([]byte, 1024)
	longComponent := "sys/" + strings.Repeat("c", 256)
	longPath := "sys/" + strings.Repeat(strings.Repeat("p", 254)+"/", 16) + strings.Repeat("f", 13)
	if len(longPath) != 4097 {
		t.Fatalf("the long path is %d bytes, want 4097", len(longPath))
	}
	sys := tarHeader("sys/", '5', octalSize("0"))
	for name, c := range map[string]struct {
		tarball []byte
		want    string
	}{
		"damaged header": {damaged, ""},
		"escaping name":  {tarHeader("../online", '0', octalSize("0")), ""},
		"truncated":      {good, ""},
		"no sys folder":  {append(tarHeader("online", '0', octalSize("0")), end...), ""},
		"file then folder": {slices.Concat(sys, tarHeader("sys/online", '0', octalSize("0")), tarHeader("sys/online/", '5', octalSize("0")), end),
			`entry "sys/online/" is both a folder and a file`},
		"long component": {slices.Concat(sys, longNamed(longComponent), end),
			fmt.Sprintf("entry %q... (260 bytes): a name component of 256 bytes, more than 255", longComponent[:64])},
		"long path": {slices.Concat(sys, longNamed(longPath), end),
			fmt.Sprintf("entry %q... (4097 bytes): a name of 4097 bytes, more than 4096", longPath[:64])},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".tar.gz")
		if err := os.WriteFile(path, gzipped(t, c.tarball), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Root(path)
		_, derr := Discover(path)
		for how, err := range map[string]error{"Root": err, "Discover": derr} {
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %s's error %v, want one naming %s and saying %s", name, how, err, path, c.want)
			}
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("%s: left behind in the temporary folder: %v", name, left)
			os.RemoveAll(filepath.Join(tmp, left[0].Name()))
		}
	}
}
