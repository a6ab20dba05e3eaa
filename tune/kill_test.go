package tune

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// roundHelperEnv makes TestRoundChildHelper, in a child process of the
// test, run a round of the fake suite it names.
const roundHelperEnv = "PINBENCH_ROUND_HELPER"

// TestRoundChildHelper is not a test: run by TestRoundChildDiesWithParent
// in a process of its own, it runs one round of the suite program that
// roundHelperEnv names, as tune does, until it is killed.
func TestRoundChildHelper(t *testing.T) {
	path := os.Getenv(roundHelperEnv)
	if path == "" {
		return
	}
	runRound(context.Background(), suiteProg{path: path}, nil, io.Discard, io.Discard, func(string) {})
	os.Exit(0)
}

// childOf returns the id of a child process of ppid, 0 if none, from
// /proc.
func childOf(t *testing.T, ppid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		i := strings.LastIndexByte(string(stat), ')')
		if err != nil || i < 0 {
			continue
		}
		// After "pid (comm)": the state, then the parent's id.
		if f := strings.Fields(string(stat[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

// subreaper makes this process the one that orphans of its children are
// given to, for the rest of the test, so that it can reap them.
func subreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skip("cannot become a subreaper:", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// reaped waits (up to limit) for pid, a child of this process, to end,
// and reaps it; it reports whether it ended.
func reaped(pid int, limit time.Duration) bool {
	for end := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == pid || errors.Is(err, unix.ECHILD) {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// The child process of a round dies with the process that started it,
// even one killed with SIGKILL, whose clean-ups never run: it does not go
// on running its pinned benchmark.
func TestRoundChildDiesWithParent(t *testing.T) {
	subreaper(t)
	script := filepath.Join(t.TempDir(), "suite.test")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(exe, "-test.run=^TestRoundChildHelper$")
	helper.Env = append(os.Environ(), roundHelperEnv+"="+script)
	helper.WaitDelay = 10 * time.Second
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Wait()
	defer helper.Process.Kill()
	child := 0
	for end := time.Now().Add(30 * time.Second); child == 0 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		child = childOf(t, helper.Process.Pid)
	}
	if child == 0 {
		t.Fatal("the round's child process did not start within 30s")
	}
	helper.Process.Kill()
	helper.Wait()
	// The child is now this process's (subreaper), to reap.
	if !reaped(child, 10*time.Second) {
		t.Errorf("the round's child %d still runs 10s after its parent was killed", child)
		syscall.Kill(child, syscall.SIGKILL)
		reaped(child, 10*time.Second)
	}
}

// A child started from a goroutine whose OS thread then ends (one that
// locked its thread and returned, as pinned benchmark sides do) lives on:
// the parent-death signal fires when the thread that forked the child
// ends, so startChild must not fork on the caller's thread.
func TestChildOutlivesStartingThread(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	cmd := exec.Command(sleep, "60")
	tid := startOnEndingThread(t, cmd)
	defer cmd.Wait()
	defer cmd.Process.Kill()
	task := filepath.Join("/proc/self/task", strconv.Itoa(tid))
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(task); err != nil {
			break // the thread has ended, and any signal for its death was sent
		}
		if time.Now().After(end) {
			t.Fatalf("thread %d did not end within 10s of its goroutine", tid)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGTERM {
		t.Errorf("the child ended with %v, not by the SIGTERM sent to it: it died with the thread that started it", cmd.ProcessState)
	}
}

// startOnEndingThread starts cmd with startChild from a goroutine that
// locks its OS thread and ends without unlocking it, which ends the
// thread (unless it is the main thread, which Go keeps: then it tries
// again on another goroutine). It returns the thread's id.
func startOnEndingThread(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	type started struct {
		tid int
		err error
	}
	for range 100 {
		done := make(chan started)
		go func() {
			runtime.LockOSThread()
			tid := unix.Gettid()
			if tid == os.Getpid() {
				runtime.UnlockOSThread()
				done <- started{}
				return
			}
			done <- started{tid, startChild(cmd)} // the thread ends with the goroutine
		}()
		if s := <-done; s.err != nil {
			t.Fatal(s.err)
		} else if s.tid != 0 {
			return s.tid
		}
	}
	t.Skip("every goroutine ran on the main thread")
	return 0
}

// The staging folder of a run killed with SIGKILL (its process gone, a
// 0600 temporary file inside) is removed by the next run into the same
// folder, which says so; a live run's is kept.
func TestRunFolderRemovesKilledRunsStaging(t *testing.T) {
	parent := t.TempDir()
	stale := filepath.Join(parent, ".old"+atomicfile.StagingMark+atomicfile.Owner(testcheck.DeadPid(t))+"-1")
	live := filepath.Join(parent, ".run"+atomicfile.StagingMark+atomicfile.Owner(os.Getpid())+"-2")
	for _, dir := range []string{stale, live} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".bench.txt.1.tmp"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := newRunFolder(filepath.Join(parent, "run"), "m", "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.abort()
	var said strings.Builder
	f.announce(&said, "machine m")
	if _, err := os.Stat(stale); err == nil || !strings.Contains(said.String(), "removed "+stale) {
		t.Errorf("the killed run's staging folder: still there %v; said %q", err == nil, said.String())
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live run's staging folder was removed: %v", err)
	}
}
