package main

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// setProcAttr has the kernel kill a child if the tool dies first, so that no
// aiadmin outlives an interrupted run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// residentBytes reads a process's resident memory (VmRSS) from
// /proc/<pid>/status.
func residentBytes(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}
