package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/place"
)

// placeLatest is the link to a machine's newest tuning run under
// results/<machine-id>/, as pinbench tune makes it.
const placeLatest = "latest"

// readResults reads --results, or this machine's latest run.
func (f *placeFlags) readResults() (*place.Results, error) {
	dir := f.results
	if dir == "" {
		t, err := affinity.Discover()
		if err != nil {
			return nil, err
		}
		id := t.MachineID()
		dir = filepath.Join("results", id, placeLatest)
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("no results for this machine (%s) at %s: run `pinbench tune` here first, or name a results folder with --results DIR", id, dir)
		}
	}
	return place.ReadResults(dir)
}

// chooseWait returns --wait, or the run's recommended wait mode, else
// poll (else the first mode the run measured), with a note on stderr. A
// wait mode the run has no handoff figures for is refused.
func (f *placeFlags) chooseWait(res *place.Results, stderr io.Writer) (place.Wait, error) {
	if f.wait == "" {
		w, note, err := res.RecommendedWait()
		if note != "" {
			fmt.Fprintf(stderr, "note: %s; planning for wait=%s (pass --wait to choose)\n", note, w)
		}
		return w, err
	}
	have := res.Waits()
	if len(have) == 0 {
		_, _, err := res.RecommendedWait() // the error naming the folder
		return "", err
	}
	w, _ := place.ParseWait(f.wait) // checked with the flags
	if !slices.Contains(have, w) {
		return "", fmt.Errorf("results %s hold no via=aio handoff figures for wait=%s, only for %s: pass --wait %s, or tune with wait=%s (no class defaults are made up)",
			res.Dir, w, waitList(have), have[0], w)
	}
	return w, nil
}

// waitList joins wait modes: "poll, block".
func waitList(ws []place.Wait) string {
	s := ""
	for i, w := range ws {
		if i > 0 {
			s += ", "
		}
		s += string(w)
	}
	return s
}

// verifiableCPUs returns the run's allowed CPUs that this process may
// run on too, with a note when that leaves some out.
func verifiableCPUs(res *place.Results, stderr io.Writer) (affinity.CPUSet, error) {
	runAllowed, err := res.Allowed()
	if err != nil {
		return affinity.CPUSet{}, err
	}
	mine, err := affinity.Allowed()
	if err != nil {
		return affinity.CPUSet{}, err
	}
	both := runAllowed.Intersect(mine)
	if both.IsEmpty() {
		return both, usageError{fmt.Sprintf("--verify: none of the run's allowed CPUs (%s) is one this process may run on (%s)", runAllowed, mine)}
	}
	if !both.Equal(runAllowed) {
		fmt.Fprintf(stderr, "note: --verify places on CPUs %s: those of the run's allowed %s that this process may run on\n", both, runAllowed)
	}
	return both, nil
}

// verifyPlan runs place.Verify with the flags' options, progress on
// stderr, warning first when the results are another machine's.
func verifyPlan(plan *place.Plan, f *placeFlags, stderr io.Writer) (*place.Verification, error) {
	t, err := affinity.Discover()
	if err != nil {
		return nil, err
	}
	if id := t.MachineID(); plan.Machine != id {
		fmt.Fprintf(stderr, "warning: the plan comes from the results of %s; --verify measures this machine, %s\n", orUnknown(plan.Machine), id)
	}
	return place.Verify(plan, place.VerifyOptions{Rounds: f.rounds, RunTime: f.roundTime, Progress: stderr})
}

// orUnknown returns s, or "an unnamed machine" when s is empty.
func orUnknown(s string) string {
	if s == "" {
		return "an unnamed machine"
	}
	return s
}

// folderPlacement is the report section of a results folder's verified
// placement (tune --threads: place.DocumentFile), so that a rebuilt
// report keeps it; "" when the folder has none.
func folderPlacement(dir string) (string, error) {
	path := filepath.Join(dir, place.DocumentFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	d, err := place.ReadDocumentFile(path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = place.WriteDocumentMarkdown(&b, d)
	return b.String(), err
}
