package affinity

import "fmt"

// SyntaxError is malformed CPU list or mask text, as [ParseList] and
// [ParseMask] return it. Its message quotes the input:
// "affinity: malformed CPU list "3-1": range 3-1 is reversed".
type SyntaxError struct {
	Form  string // "list" or "mask"
	Input string // the text as given, before trimming
	Msg   string // what is wrong with it
}

// Error returns the message, with the package's prefix.
func (e *SyntaxError) Error() string { return "affinity: " + e.detail() }

// detail is the message without the package's prefix.
func (e *SyntaxError) detail() string {
	return fmt.Sprintf("malformed CPU %s %s: %s", e.Form, quote(e.Input), e.Msg)
}

// PathError is an error reading or parsing one file of a topology tree
// (a sysfs or procfs file, or a capture's copy of one); it carries the
// file's path. Its message names the file once, after the package's
// prefix: "affinity: /sys/devices/system/cpu/online: malformed CPU list …".
type PathError struct {
	Path string // the file, as discovery opened it
	Err  error  // what went wrong; often a *SyntaxError
}

// Error returns the message, with the package's prefix once.
func (e *PathError) Error() string {
	msg := e.Err.Error()
	if se, ok := e.Err.(*SyntaxError); ok {
		msg = se.detail()
	}
	return "affinity: " + e.Path + ": " + msg
}

// Unwrap returns Err.
func (e *PathError) Unwrap() error { return e.Err }
