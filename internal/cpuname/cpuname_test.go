package cpuname

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func TestBrand(t *testing.T) {
	pad := func(s string) []byte { return append([]byte(s), make([]byte, 48-len(s))...) }
	for _, c := range []struct {
		data []byte
		want string
	}{
		{pad("  Intel(R) Xeon(R) CPU @ 2.20GHz"), "Intel(R) Xeon(R) CPU @ 2.20GHz"},
		{pad("Oxide Virtual Turin-like Processor      "), "Oxide Virtual Turin-like Processor      "},
		{pad(""), ""},
		{[]byte(strings.Repeat(" ", 48)), ""},
	} {
		if got := brand(c.data); got != c.want {
			t.Errorf("brand(%q) = %q, want %q", c.data, got, c.want)
		}
	}
}

// Name is byte for byte what this very test binary's testing package
// prints on its "cpu:" line.
func TestNameMatchesGoTest(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("Name computes the brand on amd64 only")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "-test.run", "^$", "-test.bench", "^BenchmarkName$", "-test.benchtime", "1x").Output()
	if err != nil {
		t.Fatalf("%s: %v", exe, err)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "cpu: "); ok {
			if got := Name(); got != v {
				t.Fatalf("Name() = %q, go test prints %q", got, v)
			}
			return
		}
	}
	t.Fatalf("the test binary printed no cpu line:\n%s", out)
}

func BenchmarkName(b *testing.B) {
	for b.Loop() {
		_ = Name()
	}
}
