//go:build !linux

package valkeytest

import "os/exec"

// setProcAttr does nothing where the kernel cannot tie a child's life to its
// parent's; Cleanup still stops the server when the test ends normally.
func setProcAttr(*exec.Cmd) {}
