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
	args    string // the synopsis after the name: "[flags] FILE..."
	about   string // what it does, for `pinbench help <command>`
	// run executes the command with the arguments after its name. It
	// writes results to stdout; an error is printed by main as one line
	// and makes the exit status 1 (usageError makes it 2; flag.ErrHelp,
	// after the help was printed, 0).
	run func(args []string, stdout, stderr io.Writer) error
}

// commands is the command table, as cmd/go keeps one: every command is
// listed here, and its definition lives in its own file. It is filled in
// by init because the commands' run functions look themselves up in it
// (newFlagSet), which an initializer would make a cycle.
var commands []*command

func init() {
	commands = []*command{
		cmdBench,
		cmdCompare,
		cmdMatrix,
		cmdPlace,
		cmdReport,
		cmdTopology,
		cmdTune,
	}
}

func lookup(name string) *command {
	i := slices.IndexFunc(commands, func(c *command) bool { return c.name == name })
	if i < 0 {
		return nil
	}
	return commands[i]
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
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		return runHelp(args[1:], stdout, stderr)
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "pinbench: unknown command %q (run `pinbench help`)\n", args[0])
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pinbench %s: %s (run `pinbench help %s`)\n", c.name, message(c.name, err), c.name)
		return 2
	}
	fmt.Fprintf(stderr, "pinbench %s: %s\n", c.name, message(c.name, err))
	return 1
}

// packagePrefixes are the prefixes this module's packages may put on
// their errors; after "pinbench <command>: " they would be a second one.
var packagePrefixes = []string{"affinity", "aio", "bench", "colock", "coroutine", "report"}

// message is err on one line without a second prefix: the command's name
// or a package's repeated after main's "pinbench <command>: ".
func message(name string, err error) string {
	s := oneLine(err.Error())
	for {
		cut := false
		for _, p := range append([]string{name}, packagePrefixes...) {
			if rest, ok := strings.CutPrefix(s, p+": "); ok {
				s, cut = rest, true
			}
		}
		if !cut {
			return s
		}
	}
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pinbench <command> [arguments] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	sorted := slices.Clone(commands)
	slices.SortFunc(sorted, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `pinbench help <command>` (or `pinbench <command> -h`) for a command's arguments and flags.")
}

// runHelp implements `pinbench help [command]`.
func runHelp(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return 0
	case 1:
		c := lookup(args[0])
		if c == nil {
			fmt.Fprintf(stderr, "pinbench help: unknown command %q (run `pinbench help`)\n", args[0])
			return 2
		}
		// The command builds its flag set, prints its help for -h and
		// returns flag.ErrHelp without doing anything else.
		if err := c.run([]string{"-h"}, stdout, stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "pinbench help: %s\n", oneLine(err.Error()))
			return 1
		}
		return 0
	}
	fmt.Fprintln(stderr, "pinbench help: name one command (run `pinbench help`)")
	return 2
}

// newFlagSet returns the flag set of command name. Its -h prints the
// command's help (synopsis, description, flags with their defaults) to
// stdout.
func newFlagSet(name string, stdout io.Writer) *flag.FlagSet {
	c := lookup(name)
	if c == nil {
		panic("pinbench: no command " + name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags reports errors as one line
	fs.Usage = func() {}     // the flag package calls it on errors too
	helps[fs] = func() {
		fmt.Fprintf(stdout, "usage: pinbench %s %s\n\n", c.name, c.args)
		if c.about != "" {
			fmt.Fprintf(stdout, "%s\n\n", c.about)
		} else {
			fmt.Fprintf(stdout, "%s.\n\n", strings.ToUpper(c.summary[:1])+c.summary[1:])
		}
		fmt.Fprintln(stdout, "flags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// helps holds each flag set's help printer (see newFlagSet), which
// parseFlags calls for -h only.
var helps = map[*flag.FlagSet]func(){}

// parseFlags parses args with fs, letting flags follow the positional
// arguments (`pinbench report bench.txt -out X`) until `--`, after which
// everything is an argument. It returns the arguments; a bad flag is a
// usageError, -h prints the help and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if help := helps[fs]; help != nil {
					help()
				}
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
