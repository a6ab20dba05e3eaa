package tune

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/atomicfile"
	"golang.org/x/perf/benchfmt"
)

// The benchmark suite a tuning run measures with, and its rounds: the
// program (this binary's bench command, or a go test binary), its
// arguments, the dry run that lists the benchmarks, and one round read
// with benchfmt.

// suiteProg is the program that runs the benchmark suite for a round:
// this binary (its bench command) or a go test binary of ./bench.
type suiteProg struct {
	path string
	self bool // this binary: the bench command's flags
}

// String names the program in progress lines.
func (p suiteProg) String() string {
	if p.self {
		return "this binary's own suite (" + p.path + " bench)"
	}
	return p.path
}

// SelfEnv is set to 1 in the environment of a round's child process that
// runs the suite in the running program (Options.BenchBin empty): a
// program whose executable is not pinbench itself (a test binary of the
// command's package) then runs its command line instead of its tests.
const SelfEnv = "PINBENCH_RUN_CLI"

// suiteProgram returns the program for --bench-bin bin ("": this program),
// checking that a test binary is one of pinbench's benchmark suite.
func suiteProgram(bin string) (suiteProg, error) {
	if bin == "" {
		p, err := os.Executable()
		if err != nil {
			return suiteProg{}, fmt.Errorf("finding this program to run the benchmarks: %w", err)
		}
		return suiteProg{path: p, self: true}, nil
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return suiteProg{}, fmt.Errorf("benchmark binary %s: not a file (build one with go test -c ./bench)", bin)
	}
	if err := probeBenchBinary(bin); err != nil {
		return suiteProg{}, err
	}
	return suiteProg{path: bin}, nil
}

// probeBenchBinary checks that bin is a test binary of pinbench's bench
// package: in its -plan mode, listing the benchmarks, it prints the
// suite's configuration lines and its benchmark functions.
func probeBenchBinary(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := childOutput(exec.CommandContext(ctx, bin, "-test.list", "^Benchmark", "-plan"), true)
	text := string(out)
	if err != nil || !strings.Contains(text, "\nmachine: ") && !strings.HasPrefix(text, "machine: ") || !strings.Contains(text, "BenchmarkHandoff\n") {
		why := "it does not list pinbench's benchmarks"
		if err != nil {
			why = err.Error()
		}
		return fmt.Errorf("--bench-bin %s is not a pinbench benchmark binary (go test -c ./bench): run with -test.list: %s %s", bin, why, lastLines(text, 2))
	}
	return nil
}

// command returns the command that runs the program with args, given in
// the test binary's form (-test.bench ...); for this binary they become
// the bench command's flags.
func (p suiteProg) command(ctx context.Context, args []string) *exec.Cmd {
	if p.self {
		var own []string
		for i := 0; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-test.run":
				i++ // the bench command runs no tests
			case a == "-test.v":
			case strings.HasPrefix(a, "-test."):
				own = append(own, "-"+strings.TrimPrefix(a, "-test."))
			default:
				own = append(own, a)
			}
		}
		args = append([]string{"bench", "-progress=false"}, own...)
	}
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Env = append(os.Environ(), SelfEnv+"=1", ParentEnv+"="+strconv.Itoa(os.Getpid()))
	// A signal stops the child gently first: its deferred clean-ups run.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// benchArgs are the test binary's flags for a run of mode.
func benchArgs(filter string, mode Mode, count int, benchtime string) []string {
	args := []string{"-test.run", "^$", "-test.bench", filter, "-test.count", fmt.Sprint(count), "-test.benchtime", benchtime}
	if mode.Sweep {
		args = append(args, "-sweep")
	}
	return args
}

// runBenchmarks runs the suite, writing its output to raw under the
// settings lines (how the run measured, for compare) and showing progress
// on stderr: the round, the benchmark running, results done, and time
// left. It first lists the benchmarks with a one-iteration dry run, which
// gives the total for the estimate and checks the program works.
//
// The mode.Count samples of each benchmark are taken in mode.Count rounds
// of the whole suite (-test.count 1 each), each a fresh process, not back
// to back: a shared machine's speed drifts over minutes (a VM's host
// moves its vCPUs; on the 2-core VM the floor went from 30 to 120 ns and
// back within one run), and interleaving spreads that drift over every
// benchmark alike instead of biasing whichever ran during a slow spell.
// Ratios within the run (a handoff against the floor) stay fair, and the
// drift shows as spread. The rounds' outputs are concatenated; each
// repeats the configuration lines, which benchfmt reads as the same
// configuration.
func runBenchmarks(ctx context.Context, prog suiteProg, filter string, mode Mode, settings []bench.ConfigLine, raw string, stderr io.Writer) error {
	names, err := listBenchmarks(ctx, prog, filter, mode, stderr)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no benchmark matches %q", filter)
	}
	total := len(names) * mode.Count
	return atomicfile.Write(raw, func(file io.Writer) error {
		if _, err := io.WriteString(file, bench.FormatConfig(settings)); err != nil {
			return err
		}
		w := &finiteLines{w: file, warn: stderr}
		start := time.Now()
		done := 0
		for round := 1; round <= mode.Count; round++ {
			dropped := w.dropped
			n, err := runRound(ctx, prog, benchArgs(filter, mode, 1, mode.Benchtime), w, stderr, func(name string) {
				done++
				left := time.Duration(float64(time.Since(start)) / float64(done) * float64(max(total-done, 0)))
				fmt.Fprintf(stderr, "\rbench: round %d/%d, %d/%d results, about %v left, last %-50.50s", round, mode.Count, done, total, left.Round(time.Second), name)
			})
			if err != nil {
				fmt.Fprintln(stderr)
				return fmt.Errorf("round %d of %d: %w", round, mode.Count, err)
			}
			if n == 0 {
				fmt.Fprintln(stderr)
				return fmt.Errorf("round %d of %d produced no results", round, mode.Count)
			}
			if n == w.dropped-dropped {
				fmt.Fprintln(stderr)
				return fmt.Errorf("round %d of %d produced no result with a finite measurement (see the warnings)", round, mode.Count)
			}
		}
		fmt.Fprintln(stderr)
		return nil
	})
}

// runRound runs the program once with args, copying its output to w and
// calling result with the name of each result as benchfmt reads it from
// the output ("BenchmarkName-N", as in the output). It returns the number
// of results. A line that starts like a result but is not one fails the
// round with its line in the output (benchfmt's syntax error), unless the
// program failed, whose failure lines say more.
func runRound(ctx context.Context, prog suiteProg, args []string, w, stderr io.Writer, result func(name string)) (int, error) {
	cmd := prog.command(ctx, args)
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := startChild(cmd); err != nil {
		return 0, fmt.Errorf("starting %s: %w", prog.path, err)
	}
	out := &roundOutput{w: w}
	src := io.TeeReader(pipe, out)
	n := 0
	var syntax error
	rd := benchfmt.NewReader(src, prog.path+" (stdout)")
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.Result:
			n++
			result("Benchmark" + string(rec.Name))
		case *benchfmt.SyntaxError:
			if syntax == nil {
				syntax = rec
			}
		}
	}
	readErr := rd.Err()
	// Whatever the reader left (after a read error) still goes to w, and
	// the program must not block on a full pipe.
	io.Copy(io.Discard, src)
	out.endLine()
	if err := cmd.Wait(); err != nil {
		return n, fmt.Errorf("benchmark run failed (%w): %s", err, strings.Join(failureLines(out.all.String()), "; "))
	}
	switch {
	case out.err != nil:
		return n, fmt.Errorf("copying the benchmark output: %w", out.err)
	case readErr != nil:
		return n, readErr
	case syntax != nil:
		return n, syntax
	}
	return n, nil
}

// roundOutput is where a round's output goes as benchfmt reads it: to w,
// and kept for failureLines. Its Write never fails, so that the reader
// drains the program's output whatever happens to w (err keeps w's first
// error).
type roundOutput struct {
	w    io.Writer
	all  bytes.Buffer // one round's output: a few hundred lines
	last byte         // the last byte written
	err  error
}

// Write copies p to w and keeps it.
func (o *roundOutput) Write(p []byte) (int, error) {
	o.all.Write(p)
	if len(p) > 0 {
		o.last = p[len(p)-1]
	}
	if o.err == nil {
		_, o.err = o.w.Write(p)
	}
	return len(p), nil
}

// endLine ends a last line the program left unfinished (a round that was
// cut short), so that the next round's output starts on a line of its
// own.
func (o *roundOutput) endLine() {
	if o.all.Len() > 0 && o.last != '\n' {
		o.Write([]byte{'\n'})
	}
}

// finiteLines passes the rounds' output on to w a line at a time through
// bench.FiniteLine, so that the results file holds no NaN or infinite
// metric, which the report refuses, and writes a warning line to warn
// for each metric it leaves out. It holds an unfinished line back until
// its newline comes; every round's output ends in one
// (roundOutput.endLine).
type finiteLines struct {
	w, warn io.Writer
	line    []byte // the unfinished line
	dropped int    // results left out whole: no finite metric in them
}

// Write passes on the lines p finishes, and holds back the rest.
func (f *finiteLines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.line = append(f.line, p...)
			break
		}
		f.line = append(f.line, p[:i+1]...)
		p = p[i+1:]
		line, notes := bench.FiniteLine(string(f.line))
		if line == "" && len(f.line) > 0 {
			f.dropped++
		}
		f.line = f.line[:0]
		for _, note := range notes {
			// On a line of its own: the progress line ("\rbench: round
			// ...") has no newline until the run ends.
			fmt.Fprintf(f.warn, "\nwarning: %s\n", note)
		}
		if _, err := io.WriteString(f.w, line); err != nil {
			return n - len(p), err
		}
	}
	return n, nil
}

// failureLines picks the lines that say why a round failed from its
// output: go test's and the bench command's "--- FAIL: NAME" (alone, or
// after a result's name, as go test prints a benchmark that failed) with
// the indented lines of its message, "FAIL", and panics. They are test
// output, not benchmark results, which benchfmt skips; so this matches
// text.
func failureLines(output string) []string {
	var failed []string
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\r\n")
		_, fail, isFail := strings.Cut(line, "--- FAIL")
		switch {
		case isFail:
			failed = append(failed, strings.TrimSpace("--- FAIL"+fail))
		case strings.HasPrefix(line, "FAIL"), strings.Contains(line, "panic:"):
			failed = append(failed, strings.TrimSpace(line))
		case len(failed) > 0 && strings.HasPrefix(line, "    "):
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	return failed
}

// listBenchmarks runs every matching benchmark once for one iteration and
// returns the names of those that produced a result, showing each on
// stderr as it comes (on a large or emulated machine the dry run takes a
// while).
func listBenchmarks(ctx context.Context, prog suiteProg, filter string, mode Mode, stderr io.Writer) ([]string, error) {
	var names []string
	var out bytes.Buffer
	n, err := runRound(ctx, prog, benchArgs(filter, mode, 1, "1x"), &out, stderr, func(name string) {
		names = append(names, name)
		fmt.Fprintf(stderr, "\rdry run: %d benchmarks listed, last %-60.60s", len(names), name)
	})
	if n > 0 {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("benchmark dry run with %s failed: %w %s", prog, err, lastLines(out.String(), 3))
	}
	return names, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// startChild starts cmd so that it dies with this process, even one
// killed with SIGKILL, whose clean-ups never run: the kernel sends the
// child SIGKILL when its parent dies (Pdeathsig; Go's fork checks that
// the parent did not die before the child asked for that). The parent,
// for the kernel, is the thread that forked the child, and a Go thread
// ends when a goroutine locked to it returns (pinned benchmark sides do,
// so that no other goroutine inherits their CPU affinity): cmd is started
// on the launcher's thread, which never ends.
func startChild(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	launcherOnce.Do(func() {
		launches = make(chan launch)
		go launcher()
	})
	done := make(chan error)
	launches <- launch{cmd, done}
	return <-done
}

// runChild runs cmd, started as startChild starts it, and waits for it.
func runChild(cmd *exec.Cmd) error {
	if err := startChild(cmd); err != nil {
		return err
	}
	return cmd.Wait()
}

// childOutput runs cmd as runChild does and returns its standard output,
// with its standard error too when combined: exec.Cmd's Output and
// CombinedOutput for a child that dies with this process.
func childOutput(cmd *exec.Cmd, combined bool) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	if combined {
		cmd.Stderr = &out
	}
	err := runChild(cmd)
	return out.Bytes(), err
}

// A launch is startChild's request to the launcher: start cmd, and send
// Start's error to done.
type launch struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	launcherOnce sync.Once
	launches     chan launch // to the launcher, made by launcherOnce
)

// launcher starts the child processes of startChild, one at a time,
// locked to its OS thread for the life of the process so that the thread
// never ends and the children die only with the process.
func launcher() {
	runtime.LockOSThread() // never unlocked
	for l := range launches {
		l.done <- l.cmd.Start()
	}
}

// ParentEnv holds, in the environment of a round's child process, the id
// of the process that started it (see CheckParent).
const ParentEnv = "PINBENCH_PARENT"

// CheckParent fails when this process runs a round for a tuning run whose
// process is gone: its parent is no longer the one that started it (as
// ParentEnv says). The kernel kills such a child (startChild); a program
// that runs the suite for Run checks this too, between benchmarks so that
// the check adds nothing to what they measure, in case the signal was not
// delivered. Outside a round it returns nil.
func CheckParent() error {
	want, err := strconv.Atoi(os.Getenv(ParentEnv))
	if err != nil || os.Getppid() == want {
		return nil
	}
	return fmt.Errorf("the process %d that started this run is gone: stopping", want)
}
