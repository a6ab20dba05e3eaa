package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/trace"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/internal/outlier"
)

// outliers is the -explain-outliers recorder, nil without the flag.
var outliers *outlier.Recorder

// Test hooks for the tuning run's tests (cmd/pinbench), which run this
// binary: with -explain-outliers, noFlightRecorderEnv=1 makes the flight
// recorder fail to start, and forceOutlierEnv=HOP:DURATION sleeps that
// long in the send of sampled hop HOP of every watched run.
const (
	noFlightRecorderEnv = "PINBENCH_TEST_NO_FLIGHT_RECORDER"
	forceOutlierEnv     = "PINBENCH_TEST_FORCE_OUTLIER"
)

// startOutliersFlag starts the recorder when -explain-outliers is given;
// its error is the line the test binary prints before it exits.
func startOutliersFlag() error {
	if !*explainOutliers {
		return nil
	}
	opts := outlier.Options{Dir: *outlierDir, Factor: *outlierFactor, Progress: os.Stderr}
	if os.Getenv(noFlightRecorderEnv) == "1" {
		opts.NewFlightRecorder = func(trace.FlightRecorderConfig) outlier.FlightRecorder { return failingRecorder{} }
	}
	if v := os.Getenv(forceOutlierEnv); v != "" {
		h, d, _ := strings.Cut(v, ":")
		hop, herr := strconv.Atoi(h)
		sleep, derr := time.ParseDuration(d)
		if herr != nil || derr != nil {
			return fmt.Errorf("%s=%q: want HOP:DURATION", forceOutlierEnv, v)
		}
		opts.OnSend = func(n int) {
			if n == hop {
				time.Sleep(sleep)
			}
		}
	}
	rec, err := outlier.Start(opts)
	if err != nil {
		return errors.New("-explain-outliers: " + err.Error())
	}
	outliers = rec
	return nil
}

// skipUnderFlightRecorder skips a test that runs its own flight recorder
// when the process already has one (-explain-outliers): only one may run.
func skipUnderFlightRecorder(t *testing.T) {
	if outliers != nil {
		t.Skip("-explain-outliers holds the process's flight recorder")
	}
}

// failingRecorder is a flight recorder that cannot start.
type failingRecorder struct{}

func (failingRecorder) Start() error                     { return errors.New("not supported by this runtime") }
func (failingRecorder) Stop()                            {}
func (failingRecorder) WriteTo(io.Writer) (int64, error) { return 0, errors.New("not started") }

// Where the flight recorder cannot run, -explain-outliers fails with a
// line that says so: forced by the test hook's variable, and for real when another flight
// recorder holds the process's one slot.
func TestOutliersFlagWithoutFlightRecorder(t *testing.T) {
	skipUnderFlightRecorder(t)
	defer func(old bool, dir string) { *explainOutliers, *outlierDir, outliers = old, dir, nil }(*explainOutliers, *outlierDir)
	*explainOutliers, *outlierDir = true, t.TempDir()

	t.Setenv(noFlightRecorderEnv, "1")
	err := startOutliersFlag()
	if err == nil || err.Error() != "-explain-outliers: the execution tracer's flight recorder is unavailable, so outliers cannot be explained: not supported by this runtime" {
		t.Fatalf("forced unavailable: error %v", err)
	}

	t.Setenv(noFlightRecorderEnv, "")
	other := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	err = startOutliersFlag()
	other.Stop()
	if err == nil || !strings.Contains(err.Error(), "-explain-outliers: the execution tracer's flight recorder is unavailable") || !strings.Contains(err.Error(), "already enabled") {
		t.Fatalf("with another flight recorder running: error %v", err)
	}
	if outliers != nil {
		t.Fatal("a recorder was set up although starting failed")
	}
}
