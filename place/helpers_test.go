package place

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// topologies is the repository's folder of topology fixtures, seen from
// this package's folder.
const topologies = "../testdata/topologies"

// epycResults is the results folder of the 2-core EPYC VM.
const epycResults = "../results/amd-epyc-2c2t-vm-7c0fcb/latest"

// big16Results is the quick tuning run of the big16 lab guest (emulated:
// its timings mean nothing, its shape is what the tests use).
const big16Results = "../lab/results/big16/quick"

// capture discovers the topology of a fixture: a folder under topologies,
// or a .tar.gz there, unpacked into a temporary folder.
func capture(tb testing.TB, name string) *affinity.Topology {
	tb.Helper()
	path := filepath.Join(topologies, name)
	if strings.HasSuffix(name, ".tar.gz") {
		path = untarGz(tb, path)
	}
	t, err := affinity.DiscoverRoot(path)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// untarGz unpacks the regular files and folders of a .tar.gz into a
// temporary folder and returns the folder holding sys/.
func untarGz(tb testing.TB, archive string) string {
	tb.Helper()
	f, err := os.Open(archive)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := scratchDir("pinbench-place-test")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	root := dir
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			tb.Fatalf("%s: entry %q escapes the folder", archive, h.Name)
		}
		path := filepath.Join(dir, name)
		if parts := strings.Split(filepath.ToSlash(name), "/"); len(parts) > 1 && parts[1] == "sys" {
			root = filepath.Join(dir, parts[0])
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeEntry(path, tr)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

func writeEntry(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// modelOf reads a results folder and builds its model for wait.
func modelOf(tb testing.TB, dir string, wait Wait) *Model {
	tb.Helper()
	res, err := ReadResults(dir)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := NewModel(res, wait)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
