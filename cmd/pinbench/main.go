// Command pinbench measures what it costs to hand work from one core to
// another on this machine and where event-loop threads should be pinned.
//
// Usage:
//
//	pinbench <command> [flags]
//
// Each command lives in its own file and registers itself from an init
// function with register, so adding one touches no other command's file.
// Run `pinbench help` for the list.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string // as typed: "topology"
	summary string // one line for `pinbench help`
	// run executes the command with the arguments after its name. It
	// writes results to stdout; an error is printed by main as one line
	// and makes the exit status 1 (flag.ErrHelp and usageError make it 2).
	run func(args []string, stdout, stderr io.Writer) error
}

// commands holds the registered commands; written only by init functions.
var commands []command

// register adds a subcommand; call it from an init function. Registering a
// name twice panics.
func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	if slices.ContainsFunc(commands, func(c command) bool { return c.name == name }) {
		panic("pinbench: command " + name + " registered twice")
	}
	commands = append(commands, command{name, summary, run})
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

// Error returns the message.
func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a command and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprintf(stderr, "pinbench: unknown command %q (run `pinbench help`)\n", args[0])
		return 2
	}
	err := commands[i].run(args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pinbench %s: %s\n", args[0], oneLine(err.Error()))
		return 2
	}
	fmt.Fprintf(stderr, "pinbench %s: %s\n", args[0], oneLine(err.Error()))
	return 1
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pinbench <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	sorted := slices.Clone(commands)
	slices.SortFunc(sorted, func(a, b command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `pinbench <command> -h` for a command's flags.")
}
