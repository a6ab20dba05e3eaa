package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkPlace passes a place step that pinned every thread as its taskset
// line asked and ran --verify, and names each way one can go wrong.
func TestCheckPlace(t *testing.T) {
	good := map[string]string{
		"place-taskset.txt": "taskset -pc 0 TID_t0\ntaskset -pc 1 TID_t1\n",
		"place-pins.txt":    "t0 want 0 got 0\nt1 want 1 got 1\n",
		"place-verify.txt":  "predicted order: plan < compact; measured: plan < compact\n",
	}
	for _, c := range []struct {
		name, file, body, want string
	}{
		{"as planned", "", "", ""},
		{"a thread pinned elsewhere", "place-pins.txt", "t0 want 0 got 0\nt1 want 1 got 0-1\n", `did not pin as emitted: "t1 want 1 got 0-1"`},
		{"taskset failed", "place-pins.txt", "t0 want 0 got 0\nt1 want 1 got taskset-failed\n", "did not pin as emitted"},
		{"one thread", "place-pins.txt", "t0 want 0 got 0\n", "1 threads pinned, want at least 2"},
		{"no verify comparison", "place-verify.txt", "stalled\n", "no comparison"},
		{"no taskset lines", "place-taskset.txt", "", "place-taskset.txt missing or empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, body := range good {
				if f == c.file {
					body = c.body
				}
				if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var r CheckResult
			checkPlace(&r, dir)
			got := strings.Join(r.Problems, "; ")
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("problems %q, want %q", got, c.want)
			}
		})
	}
}

// The guest's place script pins with the taskset form place emits for
// threads of a running process, and verifies.
func TestPlaceScriptUsesEmittedLines(t *testing.T) {
	for _, want := range []string{"--format taskset", "grep '^taskset -pc '", "Cpus_allowed_list", "--verify"} {
		if !strings.Contains(placeScript, want) {
			t.Errorf("the place script lacks %q", want)
		}
	}
}
