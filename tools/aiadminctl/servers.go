package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newServersCmd(a *app) *cobra.Command {
	cmd := groupCmd("servers", "The inference server pool: health, drain, undrain")
	cmd.AddCommand(newServersListCmd(a), newServersDrainCmd(a), newServersUndrainCmd(a))
	return cmd
}

func newServersListCmd(a *app) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the inference servers of every provider with their health and drain",
		Example: `  aiadminctl servers list --limit 50
  aiadminctl servers list --all -o json | jq '[.[] | select(.healthy | not)] | length'
  aiadminctl servers list --all -o json | jq -r '.[] | select(.draining) | "\(.url) \(.drain_reason)"'`,
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
					names: []string{"PROVIDER", "URL", "HEALTHY", "DRAINING", "FAILURES", "LAST CHECK"},
					wide:  []string{"SUCCESSES", "LAST FAILURE", "MODELS", "DRAIN REASON"},
					cells: func(s aiadmin.Server) []string {
						return []string{
							string(s.Provider), s.Url, yesNo(&s.Healthy), yesNo(&s.Draining), fmt.Sprint(s.ConsecutiveFailures),
							a.agoMillis(s.LastCheckMs),
							fmt.Sprint(s.ConsecutiveSuccesses), a.agoMillis(s.LastFailureMs), strings.Join(s.Models, ","), s.DrainReason,
						}
					},
				},
			}.run(cmd.Context(), a, lf)
		},
	}
	addListFlags(cmd, &lf)
	return cmd
}

func newServersDrainCmd(a *app) *cobra.Command {
	var (
		yes    bool
		reason string
	)
	cmd := &cobra.Command{
		Use:   "drain URL",
		Short: "Take a server out of rotation: no new sessions (asks first unless --yes)",
		Long: `Drain a server: it keeps serving the requests it has, and the prober keeps
probing it, but routers give it no new sessions, and a session pinned to it
moves elsewhere on its next request. The drain is fleet state: it lasts
across restarts of every replica and router until the server is undrained.
Give the URL as servers list shows it. Draining a drained server again
replaces its reason. On a terminal it asks first; without one it refuses
unless --yes is given.`,
		Example: `  aiadminctl servers drain https://inzk6tzuz833h5.proxy.runpod.net/v1 --reason "driver upgrade" --yes`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := args[0]
			if err := a.confirm("draining "+url, fmt.Sprintf("Drain server %s? It keeps its requests but gets no new sessions until undrained.", url), yes); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.DrainServer(cmd.Context(), url, reason)
			if err != nil {
				return failed(err)
			}
			return a.printDrainState(res)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why it is drained, shown by servers list -o wide (at most 256 characters)")
	addYesFlag(cmd, &yes)
	return cmd
}

func newServersUndrainCmd(a *app) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "undrain URL",
		Short: "Put a drained server back in rotation (asks first unless --yes)",
		Long: `Undrain a server: routers give it new sessions again. Undraining a server
that is not drained changes nothing. On a terminal it asks first; without
one it refuses unless --yes is given.`,
		Example: "  aiadminctl servers undrain https://inzk6tzuz833h5.proxy.runpod.net/v1 --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := args[0]
			if err := a.confirm("undraining "+url, fmt.Sprintf("Undrain server %s? It gets new sessions again.", url), yes); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.UndrainServer(cmd.Context(), url)
			if err != nil {
				return failed(err)
			}
			return a.printDrainState(res)
		},
	}
	addYesFlag(cmd, &yes)
	return cmd
}

// printDrainState shows the answer to a drain or an undrain.
func (a *app) printDrainState(s *aiadmin.DrainState) error {
	if a.output == "json" {
		return a.printJSON(s)
	}
	if s.Draining {
		return a.printText("server %s: draining (no new sessions)", cellText(s.Url))
	}
	return a.printText("server %s: not draining (in rotation)", cellText(s.Url))
}
