package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The documentation's examples run, in the manner of x/perf's
// cmd/benchstat/doc_test.go: every "$ pinbench ..." line in this
// command's package documentation (doc.go) is run from the repository's
// root, and where the documentation shows its output, the command must
// print exactly that; where it shows none (the command would measure this
// machine), its flags must parse. The pinbench command lines of README.md
// and docs/ must parse too, and docs/design.md's Layout table must list
// every package of the module.

// moduleRoot is the repository's root, from this package's folder.
const moduleRoot = "../.."

// docExample is one "$ pinbench ..." line of the documentation and the
// output shown under it.
type docExample struct {
	line   int      // in doc.go
	args   []string // after "pinbench"
	output string   // "" when none is shown
}

// packageDoc returns the text of this command's package documentation and
// the line of doc.go it starts on.
func packageDoc(t *testing.T) (string, int) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatal("doc.go has no package documentation")
	}
	return f.Doc.Text(), fset.Position(f.Doc.Pos()).Line
}

// docExamples parses the examples from the documentation's code blocks
// (lines indented with a tab): a "$ pinbench" line, then its output up to
// the next "$" line or the end of the block.
func docExamples(t *testing.T) []docExample {
	t.Helper()
	text, first := packageDoc(t)
	lines := strings.Split(text, "\n")
	var exs []docExample
	var cur *docExample
	var out []string
	flush := func() {
		if cur != nil {
			for len(out) > 0 && out[len(out)-1] == "" {
				out = out[:len(out)-1]
			}
			if len(out) > 0 {
				cur.output = strings.Join(out, "\n") + "\n"
			}
			exs = append(exs, *cur)
		}
		cur, out = nil, nil
	}
	for i, l := range lines {
		code, isCode := strings.CutPrefix(l, "\t")
		switch {
		case isCode && strings.HasPrefix(code, "$ "):
			flush()
			args := commandArgs(strings.Fields(strings.TrimPrefix(code, "$ ")))
			if args == nil {
				t.Errorf("doc.go:%d: %q is not a pinbench command", first+i, code)
				continue
			}
			cur = &docExample{line: first + i, args: args}
		case isCode && cur != nil, l == "" && cur != nil:
			out = append(out, code)
		default:
			flush()
		}
	}
	flush()
	return exs
}

// commandArgs returns the arguments of the pinbench command line among
// the shell words: those after a word that is pinbench (or a path ending
// in /pinbench) up to a redirection, pipe, list operator or comment, with
// a synopsis's brackets dropped. It returns nil when the words hold no
// command line of a known pinbench command.
func commandArgs(words []string) []string {
	for i, w := range words {
		if w != "pinbench" && !strings.HasSuffix(w, "/pinbench") {
			continue
		}
		var args []string
		for _, a := range words[i+1:] {
			if strings.HasPrefix(a, "#") || strings.ContainsAny(a[:1], ">|&;") {
				break
			}
			if a = strings.Trim(a, "[]"); a != "" {
				args = append(args, a)
			}
		}
		if len(args) > 0 && (args[0] == "help" || lookup(args[0]) != nil) {
			return args
		}
	}
	return nil
}

// checkParses runs args with -h appended, which parses every flag and
// value and then prints the command's help instead of running it.
func checkParses(t *testing.T, where string, args []string) {
	t.Helper()
	if args[0] == "help" {
		if slices.ContainsFunc(args[1:], func(a string) bool { return strings.HasPrefix(a, "<") }) {
			return // a synopsis: help <command>
		}
		if code, _, stderr := runCLI(args...); code != 0 {
			t.Errorf("%s: pinbench %s: exit %d: %s", where, strings.Join(args, " "), code, stderr)
		}
		return
	}
	if code, _, stderr := runCLI(append(slices.Clone(args), "-h")...); code != 0 {
		t.Errorf("%s: pinbench %s: its flags do not parse (exit %d): %s", where, strings.Join(args, " "), code, stderr)
	}
}

func TestDocExamples(t *testing.T) {
	exs := docExamples(t)
	run := 0
	t.Chdir(moduleRoot)
	for _, ex := range exs {
		where := "doc.go:" + strconv.Itoa(ex.line)
		if ex.output == "" {
			checkParses(t, where, ex.args)
			continue
		}
		run++
		code, stdout, stderr := runCLI(ex.args...)
		if code != 0 {
			t.Errorf("%s: pinbench %s: exit %d: %s", where, strings.Join(ex.args, " "), code, stderr)
			continue
		}
		if stdout != ex.output {
			t.Errorf("%s: pinbench %s printed:\n%s\nthe documentation shows:\n%s\n(update the example in doc.go if the change is meant)",
				where, strings.Join(ex.args, " "), stdout, ex.output)
		}
	}
	// The documentation shows help, topology, bench -plan and tune --plan
	// output; fewer would mean the parser lost some.
	if run < 4 {
		t.Errorf("%d examples with output in doc.go, want at least 4: %+v", run, exs)
	}
}

// codeSpan matches inline code in markdown, across a line break.
var codeSpan = regexp.MustCompile("`[^`]+`")

// The pinbench command lines of README.md and docs/ parse.
func TestREADMECommands(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(moduleRoot, "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	checked := 0
	for _, path := range append([]string{filepath.Join(moduleRoot, "README.md")}, docs...) {
		checked += checkCommandLines(t, path)
	}
	if checked < 10 {
		t.Errorf("%d pinbench command lines found in README.md and docs/, want at least 10", checked)
	}
}

// checkCommandLines checks that every pinbench command line of the
// markdown file at path parses, and returns how many it found.
func checkCommandLines(t *testing.T, path string) (checked int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(moduleRoot, path)
	fenced := false
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		where := rel + ":" + strconv.Itoa(i+1)
		var spans []string
		if fenced {
			spans = []string{l}
		} else {
			// An inline span may go on to the next line.
			next := ""
			if i+1 < len(lines) {
				next = lines[i+1]
			}
			for _, m := range codeSpan.FindAllStringIndex(l+"\n"+next, -1) {
				if m[0] < len(l) {
					spans = append(spans, strings.Trim((l + "\n" + next)[m[0]:m[1]], "`"))
				}
			}
		}
		for _, s := range spans {
			if args := commandArgs(strings.Fields(s)); args != nil {
				checkParses(t, where, args)
				checked++
			}
		}
	}
	return checked
}

// layoutRows returns the rows of the table under a heading "Layout" in
// text (markdown, or the documentation with its code blocks indented), as
// lines without the indentation.
func layoutRows(text string) []string {
	var rows []string
	in := false
	for l := range strings.Lines(text) {
		l = strings.TrimRight(l, "\n")
		switch {
		case l == "## Layout" || l == "# Layout":
			in = true
		case in && strings.HasPrefix(l, "#"):
			return rows
		case in && strings.HasPrefix(strings.TrimLeft(l, "\t"), "|"):
			rows = append(rows, strings.TrimLeft(l, "\t"))
		}
	}
	return rows
}

// Every package of the module has a row in docs/design.md's Layout
// table, and every row names a folder that exists.
func TestLayoutTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := layoutRows(string(b))
	listed := map[string]bool{}
	for _, r := range readme[min(2, len(readme)):] { // after the header
		cells := strings.Split(r, "|")
		if len(cells) < 4 || strings.TrimSpace(cells[2]) == "" {
			t.Errorf("docs/design.md Layout row %q: want | `path/` | its job |", r)
			continue
		}
		path := strings.TrimSuffix(strings.Trim(strings.TrimSpace(cells[1]), "`"), "/")
		listed[path] = true
		if _, err := os.Stat(filepath.Join(moduleRoot, path)); err != nil {
			t.Errorf("docs/design.md Layout lists %s, which does not exist", path)
		}
	}
	pkgs := modulePackages(t)
	for _, p := range pkgs {
		if !listed[p] {
			t.Errorf("package %s is not in the Layout table of docs/design.md: add a row saying what it does", p)
		}
	}
	if len(pkgs) < 10 {
		t.Errorf("found %d packages (%q), want the module's (at least 10)", len(pkgs), pkgs)
	}
}

// modulePackages returns the folders of the module's packages, as go list
// ./... sees them: folders holding .go files, leaving out testdata and
// names starting with . or _, and nested modules.
func modulePackages(t *testing.T) []string {
	t.Helper()
	var pkgs []string
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(moduleRoot, path)
		if !d.IsDir() {
			return nil
		}
		if rel != "." {
			name := d.Name()
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		ents, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return !e.IsDir() && strings.HasSuffix(e.Name(), ".go") }) && rel != "." {
			pkgs = append(pkgs, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}
