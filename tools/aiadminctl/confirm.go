package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// addYesFlag adds --yes to a destructive command.
func addYesFlag(cmd *cobra.Command, yes *bool) {
	cmd.Flags().BoolVarP(yes, "yes", "y", false, "do it without asking for confirmation")
}

// confirm asks the question on a terminal and goes on only on "y" or
// "yes". Without a terminal nobody can answer, so the action is refused
// unless --yes was given: a script must say what it means.
func (a *app) confirm(action, question string, yes bool) error {
	if yes {
		return nil
	}
	if !a.stdinTTY {
		return usagef("%s needs confirmation and standard input is not a terminal: pass --yes", action)
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return usagef("%s not confirmed: nothing was done", action)
}
