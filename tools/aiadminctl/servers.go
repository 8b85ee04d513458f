package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newServersCmd(a *app) *cobra.Command {
	cmd := groupCmd("servers", "Health of the inference server pool")
	cmd.AddCommand(newServersListCmd(a))
	return cmd
}

func newServersListCmd(a *app) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the inference servers of every provider with their health",
		Example: `  aiadminctl servers list --limit 50
  aiadminctl servers list --all -o json | jq '[.[] | select(.healthy | not)] | length'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			return list[aiadmin.ServerList, aiadmin.Server]{
				noun: "servers",
				page: func(ctx context.Context, page, limit int) (*aiadmin.ServerList, []aiadmin.Server, int64, error) {
					l, err := c.ListServers(ctx, page, limit)
					if err != nil {
						return nil, nil, 0, err
					}
					return l, l.Servers, l.Total, nil
				},
				every: c.Servers,
				cols: columns[aiadmin.Server]{
					names: []string{"PROVIDER", "URL", "HEALTHY", "FAILURES", "LAST CHECK"},
					wide:  []string{"SUCCESSES", "LAST FAILURE", "MODELS"},
					cells: func(s aiadmin.Server) []string {
						return []string{
							string(s.Provider), s.Url, yesNo(&s.Healthy), fmt.Sprint(s.ConsecutiveFailures),
							a.agoMillis(s.LastCheckMs),
							fmt.Sprint(s.ConsecutiveSuccesses), a.agoMillis(s.LastFailureMs), strings.Join(s.Models, ","),
						}
					},
				},
			}.run(cmd.Context(), a, lf)
		},
	}
	addListFlags(cmd, &lf)
	return cmd
}
