//go:build !amd64

package cpuname

func name() string { return "" }
