package main

import "github.com/pinbench/pinbench/tune"

// The files of a results folder, as the tuning run (package tune) writes
// them and report and compare read them.
const (
	rawFile        = tune.RawFile
	matrixFile     = tune.MatrixFile
	matrixLongFile = tune.MatrixLongFile
	topologyFile   = tune.TopologyFile
	reportFile     = tune.ReportFile
)
