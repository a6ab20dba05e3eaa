// Package spinwait gives busy-wait loops the CPU's spin-wait hint.
//
// A loop that only loads a word until another core changes it issues loads
// as fast as the core can, most of them speculative. When the other core
// writes the line, the core must throw those loads away (on x86 a
// "memory-order machine clear", a pipeline flush), and the flood of loads
// also slows the line's transfer. The hint (x86 PAUSE, arm64 YIELD) paces
// the loop and avoids the clear: a one-way cache-line ping-pong is faster
// and steadier with it (the README's "Measurements behind the design" has
// the figures).
//
// Go's runtime has this (runtime.procyield) but does not export it, and no
// library in the module proxy's reach offers it, hence the few lines of
// assembly here.
package spinwait
