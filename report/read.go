package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"golang.org/x/perf/benchfmt"
)

// Run is the content of one or more raw benchmark files: every result, the
// unit metadata and the configuration lines of each file.
type Run struct {
	// Name labels the run in comparisons (the ".file" value of its
	// results). ReadFiles sets it to the first path, Read to its name.
	Name string
	// Files lists the files read, in order.
	Files []string
	// Results holds every benchmark result, in file order. Each carries
	// the internal configuration key ".file" naming its file. Results
	// with the same configuration lines share one Config slice: treat
	// them as read-only (Clone one before changing it).
	Results []*benchfmt.Result
	// Units is the unit metadata accumulated over all files.
	Units benchfmt.UnitMetadataMap
	// Envs holds the configuration lines of each file, in file order.
	Envs []Env

	size int64 // bytes read, for MaxInput
}

// Env is the set of configuration lines ("key: value") found in one file.
// When a key occurs more than once, the first value is kept.
type Env struct {
	// File is the file the lines came from.
	File string
	// Keys lists the configuration keys in the order they first appeared.
	Keys []string
	// Values maps each key to its value.
	Values map[string]string
}

// Get returns the value of key, or "" when the file does not set it.
func (e Env) Get(key string) string { return e.Values[key] }

// DeclaredPair is the CPU pair a "pair-<class>" line declares for a
// placement class.
type DeclaredPair struct {
	// Class is the placement class.
	Class affinity.Class
	// CPUs is the line's value, as written ("0,1").
	CPUs string
}

// Pairs returns the CPU pair declared for each placement class by the
// "pair-<class>" lines (for example llc: "0,1"), in declaration order.
func (e Env) Pairs() []DeclaredPair {
	var out []DeclaredPair
	for _, k := range e.Keys {
		if class, ok := strings.CutPrefix(k, "pair-"); ok {
			out = append(out, DeclaredPair{affinity.Class(class), e.Values[k]})
		}
	}
	return out
}

// IsVM reports whether the "hypervisor" line names a hypervisor (anything
// other than empty or "none").
func (e Env) IsVM() bool {
	h := strings.ToLower(strings.TrimSpace(e.Get("hypervisor")))
	return h != "" && h != "none" && h != "no"
}

// IsEmulated reports whether the "hypervisor" line names QEMU's TCG
// emulator (cpuid's hypervisor vendor "TCGTCGTCGTCG", which discovery calls
// "QEMU"; QEMU with KVM says "KVM"): every instruction is emulated, so
// timings say nothing about any machine.
func (e Env) IsEmulated() bool {
	return strings.EqualFold(strings.TrimSpace(e.Get("hypervisor")), "QEMU")
}

// MaxInput is the most bytes of raw benchmark files one Run reads (64
// MiB, some 300 full tuning runs of a large machine). A run keeps its
// results in memory, about a byte for each byte read, and every table and
// rule reads them all: a report at the limit peaks near 450 MB. Larger
// inputs are refused, whole, rather than read for minutes into
// gigabytes; build one report per run and set the runs side by side with
// Compare instead.
const MaxInput = 64 << 20

// ReadFiles reads raw benchmark files. Any unreadable file, any malformed
// benchmark line, any file without a single result, and files larger than
// MaxInput together are an error that names the file (and line).
func ReadFiles(paths ...string) (*Run, error) {
	if len(paths) == 0 {
		return nil, errors.New("no results files given")
	}
	// Refuse before reading what is too large to read; read counts
	// what the sizes did not say (a pipe, a growing file).
	var size int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			if size += st.Size(); size > MaxInput {
				return nil, tooLarge(p)
			}
		}
	}
	run := &Run{Name: paths[0], Units: benchfmt.UnitMetadataMap{}}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = run.read(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return run, nil
}

// Read reads one raw benchmark stream; name labels it in errors and as the
// ".file" key. The same rules as ReadFiles apply.
func Read(r io.Reader, name string) (*Run, error) {
	run := &Run{Name: name, Units: benchfmt.UnitMetadataMap{}}
	if err := run.read(r, name); err != nil {
		return nil, err
	}
	return run, nil
}

// tooLarge is the error for input beyond MaxInput, at file name.
func tooLarge(name string) error {
	return fmt.Errorf("%s: over %d MiB of results files, more than a report reads (report.MaxInput); build one report per run and compare the runs instead", name, MaxInput>>20)
}

func (run *Run) read(r io.Reader, name string) error {
	last := &lastLine{r: r, left: MaxInput - run.size}
	r = last
	rd := benchfmt.NewReader(r, name)
	rd.Reset(r, name, ".file", name)
	env := Env{File: name, Values: map[string]string{}}
	var shared []benchfmt.Config // the configuration of the last result kept
	n := 0
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			if last.over { // the line cut off at the limit
				return tooLarge(name)
			}
			// rec names the file and line: say it once.
			return fmt.Errorf("%s:%d: malformed results file: %s", name, rec.Line, rec.Msg)
		case *benchfmt.Result:
			if err := finite(name, rec); err != nil {
				return err
			}
			env.add(rec.Config)
			var kept *benchfmt.Result
			kept, shared = keep(rec, shared)
			run.Results = append(run.Results, kept)
			n++
		}
	}
	run.size += last.read
	if last.over {
		return tooLarge(name)
	}
	if err := rd.Err(); err != nil {
		return readError(name, last.lineNo, err)
	}
	// benchfmt passes over a line that is a bare benchmark name (go test
	// -v prints parents that way); as the file's last line it is a run
	// cut off before its result, not a benchmark with fewer samples.
	if f := strings.Fields(last.line()); len(f) > 0 && len(f) < 3 && strings.HasPrefix(f[0], "Benchmark") {
		return fmt.Errorf("%s:%d: truncated: the last line names benchmark %s but holds no result (was the run cut off?)", name, last.n, f[0])
	}
	if n == 0 {
		return fmt.Errorf("%s: no benchmark results in file", name)
	}
	for k, v := range rd.Units() {
		if _, ok := run.Units[k]; !ok {
			run.Units[k] = v
		}
	}
	run.Files = append(run.Files, name)
	run.Envs = append(run.Envs, env)
	return nil
}

// finite refuses a result of file name with a value that is NaN or
// infinite. benchfmt reads "NaN" and "Inf" as numbers, but no statistic
// holds with them: the Mann-Whitney test never ends on a NaN (NaN !=
// NaN).
func finite(name string, rec *benchfmt.Result) error {
	for _, v := range rec.Values {
		if !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0) {
			continue
		}
		if v.OrigUnit != "" { // as written: ns/op, not sec/op
			v.Value, v.Unit = v.OrigValue, v.OrigUnit
		}
		_, line := rec.Pos()
		return fmt.Errorf("%s:%d: malformed results file: %v %s is not a finite measurement", name, line, v.Value, v.Unit)
	}
	return nil
}

// add records the file's configuration lines among cfg (a result's
// configuration) that e does not hold yet.
func (e *Env) add(cfg []benchfmt.Config) {
	for _, c := range cfg {
		if !c.File {
			continue
		}
		if _, ok := e.Values[c.Key]; !ok {
			e.Keys = append(e.Keys, c.Key)
			e.Values[c.Key] = string(c.Value)
		}
	}
}

// readError is the error for a stream that could not be read at line n
// (0 before its first line). benchfmt's error names the file and the
// last line it parsed, not the line it failed at: it is unwrapped.
func readError(name string, n int, err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	if errors.Is(err, bufio.ErrTooLong) {
		err = fmt.Errorf("a line longer than %d KiB: %w", bufio.MaxScanTokenSize>>10, err)
	}
	if n == 0 {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return fmt.Errorf("%s:%d: %w", name, n, err)
}

// keep returns a copy of rec, the reader's result, that the run can keep.
// The reader gives every result the file's configuration lines so far,
// some twenty; a copy of them per result would make the run several
// times larger than its file. A result whose configuration equals shared
// (that of the last result kept) shares that slice instead, and the
// configuration it returns is the one to share with the next.
func keep(rec *benchfmt.Result, shared []benchfmt.Config) (*benchfmt.Result, []benchfmt.Config) {
	if !slices.EqualFunc(rec.Config, shared, func(a, b benchfmt.Config) bool {
		return a.Key == b.Key && a.File == b.File && bytes.Equal(a.Value, b.Value)
	}) {
		c := rec.Clone()
		return c, c.Config
	}
	// Clone all but the configuration, which is shared.
	cfg := rec.Config
	rec.Config = nil
	c := rec.Clone()
	rec.Config = cfg
	c.Config = shared
	return c, shared
}

// fileOf returns the ".file" configuration of r. r.GetConfig would build
// an index of r's configuration, a map per result kept.
func fileOf(r *benchfmt.Result) string {
	for _, c := range r.Config {
		if c.Key == ".file" {
			return string(c.Value)
		}
	}
	return ""
}

// lastLine passes a stream through, remembering its last non-blank line
// and that line's number, for the truncation check (benchfmt.Reader
// reports positions only of the records it parsed), and ends it with
// over set past left bytes.
type lastLine struct {
	r       io.Reader
	cur     []byte // the line being read
	last    []byte // the last complete or partial non-blank line
	lineNo  int    // lines started so far
	n       int    // number of the line in last
	started bool
	left    int64 // bytes it may still pass on
	read    int64 // bytes passed on
	over    bool  // the stream held more than left
}

func (l *lastLine) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	k, err := l.r.Read(p)
	if int64(k) > l.left {
		l.over = true
		return 0, io.EOF
	}
	l.left -= int64(k)
	l.read += int64(k)
	for _, c := range p[:k] {
		if !l.started {
			l.lineNo++
			l.started = true
		}
		if c == '\n' {
			l.keep()
			l.cur, l.started = l.cur[:0], false
			continue
		}
		l.cur = append(l.cur, c)
	}
	if err == io.EOF {
		l.keep()
	}
	return k, err
}

func (l *lastLine) keep() {
	if strings.TrimSpace(string(l.cur)) != "" {
		l.last, l.n = append(l.last[:0], l.cur...), l.lineNo
	}
}

func (l *lastLine) line() string { return string(l.last) }

// Relabel returns a shallow copy of run whose results carry label as their
// ".file" key and whose Name is label. Compare uses it to name columns.
func (run *Run) Relabel(label string) *Run {
	out := &Run{Name: label, Files: slices.Clone(run.Files), Units: run.Units, Envs: run.Envs}
	for _, r := range run.Results {
		c := r.Clone()
		c.SetConfig(".file", label)
		out.Results = append(out.Results, c)
	}
	return out
}

// Merge returns a run holding the results of all runs, in order. Unit
// metadata of earlier runs wins.
func Merge(runs ...*Run) *Run {
	out := &Run{Units: benchfmt.UnitMetadataMap{}}
	for i, r := range runs {
		if i == 0 {
			out.Name = r.Name
		}
		out.Files = append(out.Files, r.Files...)
		out.Results = append(out.Results, r.Results...)
		out.Envs = append(out.Envs, r.Envs...)
		for k, v := range r.Units {
			if _, ok := out.Units[k]; !ok {
				out.Units[k] = v
			}
		}
	}
	return out
}

// Config returns the value of a configuration key from the first file that
// sets it, or "".
func (run *Run) Config(key string) string {
	for _, e := range run.Envs {
		if v, ok := e.Values[key]; ok {
			return v
		}
	}
	return ""
}
