//go:build !linux

package aiadmintest

import "os/exec"

// setProcAttr does nothing where the kernel cannot tie a child's life to its
// parent's; Stop still ends the child when the test ends normally.
func setProcAttr(*exec.Cmd) {}
