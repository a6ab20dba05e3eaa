package lab

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The lab's tune flags are ordinary flags of pinbench tune: its plan for a
// capture takes them, with the six samples, the iteration count and the
// sweep in quick mode's plan.
func TestTuneFlagsArePinbenchs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pinbench")
	}
	bin := filepath.Join(t.TempDir(), "pinbench")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pinbench/pinbench/cmd/pinbench").CombinedOutput(); err != nil {
		t.Fatalf("go build pinbench: %v\n%s", err, out)
	}
	root := filepath.Join("..", "testdata", "topologies", "two-socket-smt")
	args := append([]string{"tune", "--plan", "--root", root, "--bench", "Floor"}, strings.Fields(TuneFlags)...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pinbench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if want := "\nquick mode: 6 interleaved rounds of the suite, -benchtime 10x, poll-window sweep\n"; !strings.Contains(string(out), want) {
		t.Errorf("pinbench %s: the plan lacks %q:\n%s", strings.Join(args, " "), want, out)
	}
}
