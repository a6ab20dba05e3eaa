// Package affinity knows the machine: CPU sets without the 1024-CPU limit,
// the topology (packages, dies, clusters, cores, caches, NUMA nodes) read
// from sysfs and procfs on the live machine or under a captured root, the
// placement classes between two logical CPUs (samecpu, smt, l2, llc, node,
// remote) with a representative pair for each, the machine's identity
// (Topology.MachineID, the name its results are filed under, and the
// governor and SMT state every results file records), and pinning the
// calling goroutine's OS thread to a set of CPUs.
//
// A Topology is built once and never modified afterwards, so any number of
// goroutines may read it concurrently.
package affinity
