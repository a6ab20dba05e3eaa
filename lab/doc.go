// Package lab is pinbench's topology lab, test infrastructure rather than
// product, in a module of its own: the presets (QEMU guests with declared
// topologies), the guest's initramfs and init, and the checks of a lab
// run's outputs against the declaration. Its command, labctl, is
// scripts/lab.sh's helper; docs/lab.md describes the lab.
package lab
