package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
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

// maxTarMeta bounds the data of a GNU long-name or PAX header: a path is
// at most a few KB (PATH_MAX is 4096), and archive/tar refuses more than
// 1 MiB of PAX records too.
const maxTarMeta = 1 << 20

// tarReader reads members of a tar stream in order. It reads at most
// maxEntries headers and members whose sizes add up to at most maxBytes,
// and fails past either, so a small compressed archive cannot make it
// write or allocate without bound.
type tarReader struct {
	r          io.Reader
	left       int64 // bytes of the current member's data not yet read
	pad        int64 // padding after it, to the next 512-byte block
	entries    int   // headers read so far, and folders charged (charge)
	bytes      int64 // data bytes of the members so far, as their headers say
	maxEntries int
	maxBytes   int64
}

// newTarReader reads the tar stream r within the limits given.
func newTarReader(r io.Reader, maxEntries int, maxBytes int64) *tarReader {
	return &tarReader{r: r, maxEntries: maxEntries, maxBytes: maxBytes}
}

// next skips what is left of the current member and returns the next, or
// io.EOF at the end of the archive.
func (t *tarReader) next() (tarEntry, error) {
	if _, err := io.CopyN(io.Discard, t.r, t.left+t.pad); err != nil {
		return tarEntry{}, fmt.Errorf("tar: %w", unexpected(err))
	}
	t.left, t.pad = 0, 0
	var longName string
	for {
		e, err := t.header()
		if err != nil {
			return tarEntry{}, err
		}
		if e.kind == 'L' || e.kind == 'x' { // a GNU long name, or PAX records, for the next member
			if longName, err = t.meta(e, longName); err != nil {
				return tarEntry{}, err
			}
			continue
		}
		if longName != "" {
			e.name = longName
		}
		t.left, t.pad = e.size, blockPad(e.size)
		return e, nil
	}
}

// header reads one header block and checks it against the limits; io.EOF
// is the end of the archive.
func (t *tarReader) header() (tarEntry, error) {
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
	if err := t.charge(1); err != nil {
		return tarEntry{}, err
	}
	e, err := parseHeader(&hdr)
	if err != nil {
		return tarEntry{}, err
	}
	if e.size > t.maxBytes-t.bytes {
		return tarEntry{}, fmt.Errorf("tar: entry %s of %d bytes takes the archive past %d bytes, the limit for a capture", entryName(e.name), e.size, t.maxBytes)
	}
	t.bytes += e.size
	return e, nil
}

// parseHeader returns the member a header block describes; its size is 0
// for members without data (headerOnly), as archive/tar takes them.
func parseHeader(hdr *[512]byte) (tarEntry, error) {
	e := tarEntry{name: cstr(hdr[0:100]), kind: hdr[156]}
	if string(hdr[257:262]) == "ustar" {
		if prefix := cstr(hdr[345:500]); prefix != "" && hdr[263] == '0' { // POSIX ustar, not GNU
			e.name = prefix + "/" + e.name
		}
	}
	if e.kind == 0 {
		e.kind = '0'
	}
	size, err := octal(hdr[124:136])
	if err == nil && size < 0 {
		err = errors.New("negative")
	}
	if err != nil {
		return tarEntry{}, fmt.Errorf("tar: entry %q: size field: %w", e.name, err)
	}
	if !headerOnly(e.kind) {
		e.size = size
	}
	return e, nil
}

// charge counts n more entries against maxEntries: headers, and the
// folders an extraction makes that no header names.
func (t *tarReader) charge(n int) error {
	if t.entries += n; t.entries > t.maxEntries {
		return fmt.Errorf("tar: more than %d entries, the limit for a capture", t.maxEntries)
	}
	return nil
}

// headerOnly reports whether members of type kind have no data: links,
// devices, folders and FIFOs.
func headerOnly(kind byte) bool { return kind >= '1' && kind <= '6' }

// meta reads the data of a GNU long-name ('L') or PAX ('x') header e and
// returns the name it gives the next member (longName when it gives none).
func (t *tarReader) meta(e tarEntry, longName string) (string, error) {
	if e.size > maxTarMeta {
		return "", fmt.Errorf("tar: a %c header of %d bytes, more than %d", e.kind, e.size, maxTarMeta)
	}
	data, err := io.ReadAll(io.LimitReader(t.r, e.size)) // grows as the data comes
	if err == nil && int64(len(data)) < e.size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		_, err = io.CopyN(io.Discard, t.r, blockPad(e.size))
	}
	if err != nil {
		return "", fmt.Errorf("tar: %w", unexpected(err))
	}
	if e.kind == 'L' {
		return cstr(data), nil
	}
	if p, ok := paxPath(data); ok {
		return p, nil
	}
	return longName, nil
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
// base-256 form of large GNU sizes too, where a negative number or one
// beyond int64 is an error).
func octal(b []byte) (int64, error) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0]&0x40 != 0 {
			return 0, errors.New("negative")
		}
		var v int64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			if v > math.MaxInt64>>8 {
				return 0, errors.New("out of range")
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
