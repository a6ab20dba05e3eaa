package report

import (
	"fmt"
	"github.com/pinbench/pinbench/internal/testcheck"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// placesInput is a raw file with results at p placement classes (p0,
// p1...), samples each: the floor, two wait strategies without a poll
// run, a poll-window sweep without a poll reference and the queue at
// busy-poll, so that every rule that reads a placement at a time looks
// at each of them.
func placesInput(p, samples int) string {
	var b strings.Builder
	b.WriteString("machine: many\ngoos: linux\n")
	for i := range p {
		for k := range samples {
			v := 100 + k
			fmt.Fprintf(&b, "BenchmarkFloor/place=p%d-2 1000 %d ns/op\n", i, v)
			for _, w := range []string{"adaptive", "block"} {
				fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=%s/place=p%d-2 1000 %d ns/op %d cpu-ns/op\n", w, i, 3*v, 2*v)
			}
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pollmax=8us/rate=sparse/place=p%d-2 1000 %d ns/op %d cpu-ns/op\n", i, 9*v, v)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=queue/wait=poll/place=p%d-2 1000 %d ns/op\n", i, 2*v)
		}
	}
	return b.String()
}

// reportOf reads text and writes its report.md, returning its size.
func reportOf(t *testing.T, text string) int {
	t.Helper()
	_, md := markdownOf(t, readText(t, "many.txt", text), Options{})
	return len(md)
}

// TestManyPlacementsLinear: the bytes a report allocates, and its size,
// grow in proportion to the input as the placement classes grow from 8
// to 32 (up to MaxColumns). Each rule reads the results once per rule,
// not once per placement class.
func TestManyPlacementsLinear(t *testing.T) {
	small, large := placesInput(8, 6), placesInput(32, 6)
	var mdSmall, mdLarge int
	aSmall := testcheck.HeapBytes(func() { mdSmall = reportOf(t, small) })
	aLarge := testcheck.HeapBytes(func() { mdLarge = reportOf(t, large) })
	grow := float64(len(large)) / float64(len(small))
	t.Logf("input %d to %d bytes; allocated %d to %d; report.md %d to %d", len(small), len(large), aSmall, aLarge, mdSmall, mdLarge)
	if r := float64(aLarge) / float64(aSmall); r > 1.5*grow {
		t.Errorf("allocations grew %.1fx for %.1fx the input (%d bytes to %d): not linear", r, grow, aSmall, aLarge)
	}
	if r := float64(mdLarge) / float64(mdSmall); r > 1.5*grow {
		t.Errorf("report.md grew %.1fx for %.1fx the input (%d bytes to %d): not linear", r, grow, mdSmall, mdLarge)
	}
}

// TestTooManyColumnsRefused: 1000 placement classes (one result each)
// would make tables of 1000 columns; Build refuses them, naming the key
// and the limit, instead of writing megabytes.
func TestTooManyColumnsRefused(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "BenchmarkFloor/place=p%d-2 1000 %d ns/op\n", i, 100+i)
	}
	_, err := Build(readText(t, "wide.txt", b.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), "/place") || !strings.Contains(err.Error(), fmt.Sprint(MaxColumns)) {
		t.Fatalf("Build of 1000 placement classes: error %v; want a refusal naming /place and the limit %d", err, MaxColumns)
	}
	_, err = Compare(readText(t, "a.txt", b.String()), readText(t, "b.txt", b.String()))
	if err != nil {
		t.Errorf("Compare of two runs (two columns): %v", err)
	}
}

// TestReadKeepsLittle: the results read keep at most three bytes per
// byte of input: results of one file share their configuration lines.
func TestReadKeepsLittle(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "results", "amd-epyc-2c2t-vm-7c0fcb", "20261130T013942Z-full", "bench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for range 20 {
		b.Write(src)
	}
	text := b.String()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	run := readText(t, "big.txt", text)
	if _, err := run.Tables(CompareOptions()); err != nil { // projects .file on every result
		t.Fatal(err)
	}
	warnings := Warnings(run, nil, Thresholds{}) // reads .file of every result
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	perByte := kept / float64(len(text))
	t.Logf("reading %d bytes keeps %.0f, %.1f per input byte", len(text), kept, perByte)
	if perByte > 3 {
		t.Errorf("reading %d bytes keeps %.0f bytes, %.1f per input byte; want at most 3", len(text), kept, perByte)
	}
	runtime.KeepAlive(run)
	runtime.KeepAlive(warnings)
}

// TestInputLimit: files larger than MaxInput together are refused before
// they are read, with an error that names the limit.
func TestInputLimit(t *testing.T) {
	dir := t.TempDir()
	half := filepath.Join(dir, "half.txt")
	f, err := os.Create(half)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: no disk space, no time.
	if err := f.Truncate(MaxInput/2 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFiles(half, half)
	if err == nil || !strings.Contains(err.Error(), "MaxInput") || !strings.Contains(err.Error(), "half.txt") {
		t.Fatalf("two files over MaxInput together: error %v; want a refusal naming the file and MaxInput", err)
	}
}

// TestStreamLimit: a stream (no size to stat) is cut off past MaxInput
// and refused, not read to its end.
func TestStreamLimit(t *testing.T) {
	line := "BenchmarkFloor/place=llc-2 1000 35.0 ns/op\n" + strings.Repeat(" ", 4000) + "\n"
	r := io.LimitReader(repeat(line), MaxInput+int64(len(line)))
	_, err := Read(r, "stream.txt")
	if err == nil || !strings.Contains(err.Error(), "MaxInput") || !strings.Contains(err.Error(), "stream.txt") {
		t.Fatalf("a stream over MaxInput: error %v; want a refusal naming the stream and MaxInput", err)
	}
}

// repeat is an endless reader of s, s after s.
func repeat(s string) io.Reader {
	at := 0
	return readerFunc(func(p []byte) (int, error) {
		n := 0
		for n < len(p) {
			k := copy(p[n:], s[at:])
			n += k
			at = (at + k) % len(s)
		}
		return n, nil
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
