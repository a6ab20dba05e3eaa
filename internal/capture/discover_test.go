package capture

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// An archive read into memory gives the topology its extraction gives,
// wherever sys/ lies inside it; only Root (the capture as given) differs.
func TestDiscoverArchiveMatchesExtraction(t *testing.T) {
	folder := filepath.Join("..", "..", "testdata", "topologies", "two-socket-smt")
	for _, prefix := range []string{"", "capture/host-1/"} {
		archive := filepath.Join(t.TempDir(), "two-socket-smt.tar.gz")
		writeArchive(t, archive, folder, prefix)
		fromMemory, err := Discover(archive)
		if err != nil {
			t.Fatal(err)
		}
		if fromMemory.Root != archive {
			t.Errorf("prefix %q: Root %q, want the archive %q", prefix, fromMemory.Root, archive)
		}
		dir, cleanup, err := Root(archive)
		if err != nil {
			t.Fatal(err)
		}
		extracted, err := affinity.DiscoverRoot(dir)
		cleanup()
		if err != nil {
			t.Fatal(err)
		}
		want, got := extracted.JSON(), fromMemory.JSON()
		want.Source, got.Source = "", ""
		if !reflect.DeepEqual(want, got) {
			t.Errorf("prefix %q: from memory\n%+v\nextracted\n%+v", prefix, got, want)
		}
	}
}

// A folder is read where it lies.
func TestDiscoverFolder(t *testing.T) {
	folder := filepath.Join("..", "..", "testdata", "topologies", "two-socket-smt")
	topo, err := Discover(folder)
	if err != nil {
		t.Fatal(err)
	}
	if topo.Root != folder || len(topo.CPUs) == 0 {
		t.Fatalf("Root %q with %d CPUs, want %q and its CPUs", topo.Root, len(topo.CPUs), folder)
	}
}

// writeArchive writes the files under folder into a .tar.gz at path, each
// named prefix + its path under folder, folders first.
func writeArchive(t *testing.T, path, folder, prefix string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == folder {
			return err
		}
		rel, err := filepath.Rel(folder, p)
		if err != nil {
			return err
		}
		name := prefix + filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = os.WriteFile(path, buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// An archive that makes one name both a folder and a file is refused,
// naming the capture, whichever comes first.
func TestDiscoverRefusesFileFolderClash(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		entries []byte
		want    string
	}{
		"file-then-child":  {append(tarHeader("sys", '0', octalSize("0")), tarHeader("sys/online", '0', octalSize("0"))...), `entry "sys/online" lies under the file "sys"`},
		"file-then-folder": {append(tarHeader("sys", '0', octalSize("0")), tarHeader("sys/", '5', octalSize("0"))...), `entry "sys/" is both a folder and a file`},
		"folder-then-file": {append(tarHeader("sys/", '5', octalSize("0")), tarHeader("sys", '0', octalSize("0"))...), `entry "sys" is both a folder and a file`},
	} {
		path := filepath.Join(dir, name+".tar.gz")
		if err := os.WriteFile(path, gzipped(t, append(c.entries, make([]byte, 1024)...)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Discover(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s and saying %s", name, err, path, c.want)
		}
	}
}
