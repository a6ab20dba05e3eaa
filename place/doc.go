// Package place places N event-loop threads on concrete CPUs from a
// machine's measured handoff costs, and writes the placement in the forms
// operators apply.
//
// The contract: given a results folder (ReadResults: bench.txt,
// topology.json, the latency matrix) and a wait mode, NewModel costs a
// one-way handoff between any two CPUs from the measured via=aio handoff
// of their placement class, scaled by the matrix; given a Workload
// (Pattern or ReadGraph) and Constraints, NewPlan returns the thread ->
// CPU assignment of least predicted cost that the solver finds (proved
// optimal up to ExactThreads threads where the search completes), with
// the compact, spread and unpinned baselines costed by the same model.
// Plan.Document is the plan's JSON form (schema "pinbench.place/v1"),
// and Emit writes it as text, JSON, taskset, numactl, systemd, libvirt
// or QEMU configuration. Planning measures nothing and runs anywhere, for
// any machine's results. Verify is the one part that runs on this
// machine: it runs the workload itself (an aio iothread per thread,
// handoffs through aio.CoSchedule) at the plan and at each baseline in
// interleaved rounds, compares them as benchstat does, and records the
// outcome in Plan.Measured.
//
// Bad input (a malformed graph, CPUs outside the topology, more threads
// than usable CPUs, a run without figures for the wait mode) is an error
// naming the problem; nothing here panics on input. Every result is
// deterministic: the same inputs give the same plan, byte for byte.
//
// The parts, one job per file: workload.go and graph.go (what to place),
// topology.go and results.go (the inputs), model.go and model_cost.go
// (the cost model), constraints.go and order.go (where threads may go),
// solve.go, solve_local.go, solve_exact.go and symmetry.go (the solver),
// baseline.go and plan.go (the plan), emit*.go (the formats),
// markdown.go (a report's section),
// verify.go, verify_run.go, verify_token.go and verify_report.go (running
// the plan and the baselines, and what that shows).
package place
