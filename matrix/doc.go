// Package matrix holds a core-to-core latency matrix and its three outward
// forms: CSV (a grid of medians, or a long form that keeps every sample and
// placement class), aligned text, and a heat map drawn as SVG or PNG.
//
// A Matrix is filled by a measurement (New, then Set per ordered CPU pair)
// or read back from a file (ReadFileIn with the machine's CPUs, or
// ReadFile, ReadCSV and ReadLongCSV with CPU ids below MaxCPUs); Classify
// attaches the placement class of each pair so that the heat map outlines
// the class blocks. A matrix is dense over the CPUs it names, so the
// readers refuse CPUs beyond their bound, naming the line and the CPU,
// and the heat map of many CPUs draws smaller cells. The package measures
// nothing and knows nothing of reports: it holds what a measurement found,
// for whoever reads it (warnings, a heat map, a cost model).
package matrix
