package affinity

import (
	"testing"
	"testing/fstest"
)

// TestDiscoverFS reads a two-core machine from an in-memory tree: discovery
// goes through an fs.FS, so a test needs no files on disk.
func TestDiscoverFS(t *testing.T) {
	const cpu = "sys/devices/system/cpu/"
	fsys := fstest.MapFS{
		cpu + "online": {Data: []byte("0-1\n")},
	}
	for _, n := range []string{"0", "1"} {
		d := cpu + "cpu" + n + "/topology/"
		fsys[d+"physical_package_id"] = &fstest.MapFile{Data: []byte("0\n")}
		fsys[d+"core_id"] = &fstest.MapFile{Data: []byte(n + "\n")}
		fsys[d+"thread_siblings_list"] = &fstest.MapFile{Data: []byte(n + "\n")}
	}
	top, err := discoverFS(fsys, "/fake")
	if err != nil {
		t.Fatal(err)
	}
	if got := top.Online.String(); got != "0-1" {
		t.Errorf("online CPUs %s, want 0-1", got)
	}

	fsys[cpu+"cpu1/topology/thread_siblings_list"] = &fstest.MapFile{Data: []byte("1-0\n")}
	_, err = discoverFS(fsys, "/fake")
	want := `affinity: /fake/sys/devices/system/cpu/cpu1/topology/thread_siblings_list: malformed CPU list "1-0": range 1-0 is reversed`
	if err == nil || err.Error() != want {
		t.Errorf("malformed siblings: %v, want %s", err, want)
	}
}
