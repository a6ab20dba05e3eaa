// Package cacheline holds the one padding width that keeps a contended word
// alone on its cache line, so that no two packages' paddings drift apart.
// Packages of this module pad with it directly, and export it only where
// a padding is part of an exported type's API (a queue instantiated with
// it), under one name.
package cacheline

// Pad is the padding, in bytes, that keeps a contended word alone.
//
// A cache line is 64 bytes on x86-64, but the L2 "adjacent-line" (spatial)
// prefetcher of Intel cores since Sandy Bridge fetches lines in aligned
// pairs, so a write to one line of a 128-byte pair still costs the other
// core a miss on its neighbour. crossbeam's CachePadded pads to 128 bytes on
// x86-64 for that reason (and on aarch64, where some cores have 128-byte
// lines); Go's runtime pads its own hot words (internal/cpu) to 64.
const Pad = 128

// Size64 is the plain x86-64 cache-line size, kept so benchmarks can
// compare it with [Pad].
const Size64 = 64
