// Command aiadminctl operates an aiadmin deployment from the shell: one
// subcommand per API operation, tables for people and JSON for programs,
// exit codes automation can rely on, and a contract check of a deployment
// against the API's spec. Run aiadminctl --help for the flags, the
// environment and the exit codes.
package main

import (
	"os"
	"time"

	"golang.org/x/term"
)

func main() {
	a := &app{
		stdin:    os.Stdin,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		stdinTTY: term.IsTerminal(int(os.Stdin.Fd())),
		getenv:   os.Getenv,
		now:      time.Now,
	}
	os.Exit(execute(a, os.Args[1:]))
}
