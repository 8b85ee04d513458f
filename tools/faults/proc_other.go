//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

// setProcAttr does nothing where the kernel cannot tie a child's life to the
// tool's; Close still stops every child the tool started.
func setProcAttr(*exec.Cmd) {}

// residentBytes needs /proc.
func residentBytes(int) (int64, error) {
	return 0, errors.New("resident memory is read from /proc, which only Linux has")
}
