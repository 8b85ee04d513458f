package main

import "github.com/spf13/cobra"

func newContractCmd(a *app) *cobra.Command {
	return &cobra.Command{Use: "contract", Short: "Check the deployment against the API contract", Hidden: true, RunE: func(*cobra.Command, []string) error { return usagef("not yet") }}
}
