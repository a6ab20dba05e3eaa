//go:build amd64 || arm64

package osthread

import "unsafe"

const haveCurrentM = true

// mOffset is where the runtime's g struct (runtime/runtime2.go) holds m,
// the OS thread running the goroutine: after stack (two words),
// stackguard0, stackguard1, _panic and _defer. The toolchain's linker
// depends on that prefix ("offset known to liblink", "offset known to arm
// liblink"), which is why it has stayed put since Go 1.4; validateFast
// checks it anyway before Current trusts it.
const mOffset = 6 * unsafe.Sizeof(uintptr(0))

// currentG returns the calling goroutine's g (assembly: the TLS slot on
// amd64, the g register on arm64). Go exposes no thread identity cheaper
// than a system call, and no library does either, hence the hand-written
// read; it is the same one the runtime's own getg compiles to.
func currentG() unsafe.Pointer

// currentM returns the runtime's m pointer of the calling goroutine: the
// OS thread running it. A goroutine's m changes only when the scheduler
// moves it, which a locked goroutine never is.
func currentM() uintptr {
	return *(*uintptr)(unsafe.Add(currentG(), mOffset))
}
