package affinity

import (
	"errors"
	"testing"
)

// TestErrorTypes checks that parse errors are a *SyntaxError, that a file's
// error wraps it in a *PathError naming the file once, and the messages.
func TestErrorTypes(t *testing.T) {
	_, err := ParseList("3-1")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Form != "list" || se.Input != "3-1" {
		t.Fatalf("ParseList(\"3-1\") = %#v, want a *SyntaxError", err)
	}
	if got, want := err.Error(), `affinity: malformed CPU list "3-1": range 3-1 is reversed`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	pe := &PathError{Path: "/sys/devices/system/cpu/online", Err: err}
	if got, want := pe.Error(), `affinity: /sys/devices/system/cpu/online: malformed CPU list "3-1": range 3-1 is reversed`; got != want {
		t.Errorf("PathError message %q, want %q", got, want)
	}
	if !errors.As(pe, &se) {
		t.Error("a *PathError does not unwrap to its *SyntaxError")
	}
	_, err = ParseMask("")
	if got, want := err.Error(), `affinity: malformed CPU mask "": empty`; got != want {
		t.Errorf("ParseMask(\"\"): %q, want %q", got, want)
	}
}
