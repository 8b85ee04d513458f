package aiadmintest

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the child if the test process dies first,
// so that no server outlives a crashed test.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
