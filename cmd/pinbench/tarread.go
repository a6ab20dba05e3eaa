package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A minimal tar reader for sysfs captures. archive/tar imports os/user,
// which links the C library in whenever cgo is enabled, and pinbench must
// build into one static binary with a plain `go build` or `go install`;
// a capture needs only folders and regular files with their names, which
// this reads from ustar, GNU (long names) and PAX (path records) archives.

// tarEntry is one archive member.
type tarEntry struct {
	name string
	kind byte // '0' regular file, '5' folder; others are skipped by callers
	size int64
}

// tarReader reads members of a tar stream in order.
type tarReader struct {
	r    io.Reader
	left int64 // bytes of the current member's data not yet read
	pad  int64 // padding after it, to the next 512-byte block
}

func newTarReader(r io.Reader) *tarReader { return &tarReader{r: r} }

// next skips what is left of the current member and returns the next, or
// io.EOF at the end of the archive.
func (t *tarReader) next() (tarEntry, error) {
	if _, err := io.CopyN(io.Discard, t.r, t.left+t.pad); err != nil {
		return tarEntry{}, fmt.Errorf("tar: %w", unexpected(err))
	}
	t.left, t.pad = 0, 0
	var longName string
	for {
		var hdr [512]byte
		if _, err := io.ReadFull(t.r, hdr[:]); err != nil {
			if err == io.EOF {
				return tarEntry{}, io.EOF
			}
			return tarEntry{}, fmt.Errorf("tar: %w", unexpected(err))
		}
		if hdr == [512]byte{} {
			return tarEntry{}, io.EOF // the end-of-archive blocks
		}
		if err := checkSum(hdr[:]); err != nil {
			return tarEntry{}, err
		}
		size, err := octal(hdr[124:136])
		if err != nil {
			return tarEntry{}, fmt.Errorf("tar: size field: %w", err)
		}
		e := tarEntry{name: cstr(hdr[0:100]), kind: hdr[156], size: size}
		if string(hdr[257:262]) == "ustar" {
			if prefix := cstr(hdr[345:500]); prefix != "" && hdr[263] == '0' { // POSIX ustar, not GNU
				e.name = prefix + "/" + e.name
			}
		}
		if e.kind == 0 {
			e.kind = '0'
		}
		switch e.kind {
		case 'L', 'x': // a GNU long name, or PAX records, for the next member
			data := make([]byte, size)
			if _, err := io.ReadFull(t.r, data); err != nil {
				return tarEntry{}, fmt.Errorf("tar: %w", unexpected(err))
			}
			if _, err := io.CopyN(io.Discard, t.r, blockPad(size)); err != nil {
				return tarEntry{}, fmt.Errorf("tar: %w", unexpected(err))
			}
			if e.kind == 'L' {
				longName = cstr(data)
			} else if p, ok := paxPath(data); ok {
				longName = p
			}
			continue
		}
		if longName != "" {
			e.name = longName
		}
		t.left, t.pad = size, blockPad(size)
		if e.kind == '5' {
			t.left, t.pad = 0, 0
		}
		return e, nil
	}
}

// Read reads the current member's data.
func (t *tarReader) Read(p []byte) (int, error) {
	if t.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > t.left {
		p = p[:t.left]
	}
	n, err := t.r.Read(p)
	t.left -= int64(n)
	if err == io.EOF && t.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func blockPad(size int64) int64 { return (512 - size%512) % 512 }

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// cstr is a NUL-terminated header field.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// octal parses a numeric header field (octal, space or NUL padded; the
// base-256 form of large GNU sizes too).
func octal(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		var v int64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			v = v<<8 | int64(c)
		}
		return v, nil
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 8, 64)
}

// checkSum verifies a header block's checksum (the sum of its bytes with
// the checksum field as spaces).
func checkSum(hdr []byte) error {
	want, err := octal(hdr[148:156])
	if err != nil {
		return errors.New("tar: not a tar archive (bad header checksum field)")
	}
	var sum int64
	for i, c := range hdr {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	if sum != want {
		return errors.New("tar: not a tar archive (header checksum mismatch)")
	}
	return nil
}

// paxPath returns the path record of PAX extended header data ("NN
// path=value\n" records).
func paxPath(data []byte) (string, bool) {
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp < 0 {
			return "", false
		}
		n, err := strconv.Atoi(string(data[:sp]))
		if err != nil || n <= sp || n > len(data) {
			return "", false
		}
		rec := strings.TrimSuffix(string(data[sp+1:n]), "\n")
		if v, ok := strings.CutPrefix(rec, "path="); ok {
			return v, true
		}
		data = data[n:]
	}
	return "", false
}
