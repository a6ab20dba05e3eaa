package place

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/report"
)

// The files of a results folder (a tuning run's output) that a plan reads.
const (
	// BenchFile holds the benchmark results and configuration lines.
	BenchFile = "bench.txt"
	// TopologyFile is the machine's topology (affinity.TopologyJSON).
	TopologyFile = "topology.json"
	// MatrixFile is the latency matrix's grid form; MatrixSamplesFile is
	// its long form, read when the grid is absent.
	MatrixFile        = "matrix.csv"
	MatrixSamplesFile = "matrix-samples.csv"
)

// Results is what a plan is made from: the measurements of one machine.
// ReadResults fills it from a results folder; a caller planning for the
// live machine may fill it itself (affinity.Discover, report.ReadFiles,
// matrix.ReadFile).
type Results struct {
	// Dir is the results folder, as named in messages and the plan.
	Dir string
	// Machine is the machine id of the run (its "machine" line); "" when
	// the run has none.
	Machine string
	// Run holds the benchmark results.
	Run *report.Run
	// Matrix is the core-to-core latency matrix, nil when the run measured
	// none.
	Matrix *matrix.Matrix
	// Topology is the machine the run measured.
	Topology *affinity.Topology
}

// ReadResults reads a results folder: BenchFile and TopologyFile, which
// must exist, and the latency matrix (MatrixFile, else MatrixSamplesFile;
// neither is fine: no per-pair scaling). Errors name the file.
func ReadResults(dir string) (*Results, error) {
	run, err := report.ReadFiles(filepath.Join(dir, BenchFile))
	if err != nil {
		return nil, fmt.Errorf("place: results %s: %w", dir, err)
	}
	topo, err := ReadTopologyJSON(filepath.Join(dir, TopologyFile))
	if err != nil {
		return nil, err
	}
	res := &Results{Dir: dir, Machine: run.Config("machine"), Run: run, Topology: topo}
	for _, name := range []string{MatrixFile, MatrixSamplesFile} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if res.Matrix, err = matrix.ReadFile(path); err != nil {
			return nil, fmt.Errorf("place: results %s: %w", dir, err)
		}
		break
	}
	return res, nil
}

// Allowed returns the CPUs the run could use: its "allowed" configuration
// line, else the topology's allowed set. A malformed line is an error
// naming it; so is a line naming CPUs the topology does not have.
func (r *Results) Allowed() (affinity.CPUSet, error) {
	line := ""
	if r.Run != nil {
		line = r.Run.Config("allowed")
	}
	if line == "" {
		return r.Topology.Allowed, nil
	}
	set, err := affinity.ParseList(line)
	if err != nil {
		return affinity.CPUSet{}, fmt.Errorf("place: results %s: the run's allowed line: %w", r.Dir, err)
	}
	if extra := set.Difference(r.Topology.Online); !extra.IsEmpty() {
		return affinity.CPUSet{}, fmt.Errorf("place: results %s: the run's allowed CPUs %s include %s, which the topology (%s) does not have",
			r.Dir, set, extra, r.Topology.Online)
	}
	return set, nil
}

// check reports what is missing for a model.
func (r *Results) check() error {
	switch {
	case r == nil:
		return errors.New("place: no results")
	case r.Run == nil:
		return fmt.Errorf("place: results %s: no benchmark run", r.Dir)
	case r.Topology == nil:
		return fmt.Errorf("place: results %s: no topology", r.Dir)
	}
	return nil
}

// Waits returns the wait modes the run holds via=aio handoff figures for
// (those NewModel accepts), in the order poll, adaptive, block.
func (r *Results) Waits() []Wait {
	if r.check() != nil {
		return nil
	}
	var out []Wait
	for _, w := range []Wait{WaitPoll, WaitAdaptive, WaitBlock} {
		if _, err := handoffFigures(r, w); err == nil {
			out = append(out, w)
		}
	}
	return out
}

// RecommendedWait returns the wait mode to plan for when none is asked
// for: the run's report's wait recommendation (report.Recommend), else
// poll, else the first mode the run measured (Waits' order), with a note
// saying why the recommendation was not taken (note is "" when it was).
// A run with no via=aio handoff figures for any wait mode is an error
// naming the folder.
func (r *Results) RecommendedWait() (w Wait, note string, err error) {
	have := r.Waits()
	if len(have) == 0 {
		return "", "", fmt.Errorf("results %s hold no via=aio handoff figures (BenchmarkHandoff/via=aio/wait=W/place=C) for any wait mode: nothing to plan from", r.Dir)
	}
	why := "the run's report makes no wait recommendation"
	for _, rec := range report.Recommend(r.Run, report.Thresholds{}) {
		if rec.Topic != report.TopicWait {
			continue
		}
		if w := Wait(rec.Choice); !rec.Withheld && slices.Contains(have, w) {
			return w, "", nil
		}
		why = "the run's report withholds its wait recommendation: " + strings.TrimSuffix(rec.Summary, ".")
	}
	return have[0], why, nil // poll when measured: have is in the order poll, adaptive, block
}
