package lab

import "fmt"

// Guest is what scripts/lab.sh needs to boot a guest of one architecture:
// the QEMU binary and the Debian packages that hold it, the guest kernel
// and busybox, the kernel's console, and the results channel.
type Guest struct {
	// Arch is the architecture as GOARCH and Debian spell it ("amd64").
	Arch string
	// QEMU is the system emulator ("qemu-system-x86_64").
	QEMU string
	// QEMUPackage is the Debian package holding it ("qemu-system-x86").
	QEMUPackage string
	// Machine is the -M value the guest needs ("virt"), "" for QEMU's
	// default machine.
	Machine string
	// CPU is the -cpu model the lab gives the guest unless told otherwise.
	CPU string
	// KernelPackage is the Debian meta-package whose first dependency is
	// the cloud kernel unpacked for the guest ("linux-image-cloud-amd64").
	KernelPackage string
	// Append is the kernel command line.
	Append string
	// ResultsDev is the guest's end of the results channel: a second
	// serial port on x86, a virtio console on arm64's virt board, which
	// has one UART only (the console).
	ResultsDev string
	// Modules are the kernel modules the guest's init loads, in order,
	// before it uses ResultsDev: paths under the kernel package's
	// lib/modules/VERSION/kernel/ (Debian's cloud kernel for arm64 builds
	// the virtio transport and console as modules).
	Modules []string
}

// Guests returns the architectures the lab boots.
func Guests() []Guest {
	return []Guest{
		{
			Arch: "amd64", QEMU: "qemu-system-x86_64", QEMUPackage: "qemu-system-x86", CPU: DefaultCPU, KernelPackage: "linux-image-cloud-amd64",
			// tsc=reliable: without it the guest marks the TSC unstable and
			// falls back to HPET, where every clock read traps.
			Append: "console=ttyS0 panic=-1 tsc=reliable", ResultsDev: "/dev/ttyS1",
		},
		{
			Arch: "arm64", QEMU: "qemu-system-aarch64", QEMUPackage: "qemu-system-arm", Machine: "virt", CPU: DefaultARMCPU, KernelPackage: "linux-image-cloud-arm64",
			Append: "console=ttyAMA0 panic=-1", ResultsDev: "/dev/hvc0",
			Modules: []string{"drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_mmio.ko", "drivers/char/virtio_console.ko"},
		},
	}
}

// GuestFor returns the guest of architecture arch.
func GuestFor(arch string) (Guest, error) {
	for _, g := range Guests() {
		if g.Arch == arch {
			return g, nil
		}
	}
	return Guest{}, fmt.Errorf("lab: no guest of architecture %q (want amd64 or arm64)", arch)
}

// ArgsArch returns the architecture of the guest QEMU arguments declare:
// arm64 with -M virt, amd64 with QEMU's PCs or no -M.
func ArgsArch(args []string) (string, error) {
	arch := "amd64"
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-M", "-machine", "--machine":
			if i+1 >= len(args) {
				return "", fmt.Errorf("lab: %s needs a value", args[i])
			}
			i++
			a, err := machineArch(args[i])
			if err != nil {
				return "", err
			}
			arch = a
		}
	}
	return arch, nil
}
