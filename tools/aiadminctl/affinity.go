package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newAffinityCmd(a *app) *cobra.Command {
	cmd := groupCmd("affinity", "Session affinity of users to backend servers: metrics, get, clear")
	cmd.AddCommand(newAffinityMetricsCmd(a), newAffinityGetCmd(a), newAffinityClearCmd(a))
	return cmd
}

func newAffinityMetricsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "metrics",
		Short: "Show affinity hits, misses and fallbacks per provider",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			m, err := c.GetAffinityMetrics(cmd.Context())
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(m)
			}
			return printTable(a, columns[aiadmin.ProviderAffinity]{
				names: []string{"PROVIDER", "HITS", "MISSES", "FALLBACKS", "HIT RATE", "TTL"},
				cells: func(p aiadmin.ProviderAffinity) []string {
					rate := "-"
					if n := p.SessionHitCount + p.SessionMissCount; n > 0 {
						rate = fmt.Sprintf("%.1f%%", 100*float64(p.SessionHitCount)/float64(n))
					}
					return []string{
						p.Name, fmt.Sprint(p.SessionHitCount), fmt.Sprint(p.SessionMissCount),
						fmt.Sprint(p.FallbackCount), rate, fmt.Sprintf("%dm", p.TtlMinutes),
					}
				},
			}, m.Providers)
		},
	}
}

func newAffinityGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get USER_ID",
		Short: "Show a user's live sessions: which backend each model is pinned to",
		Long: `Show a user's live session pins, by provider then model: the backend each
of their sessions lands on and when the pin expires unless a request renews
it. A user without any shows an empty table.`,
		Example: `  aiadminctl affinity get usr_abc123
  aiadminctl affinity get usr_abc123 -o json | jq -r '.sessions[].url'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			us, err := c.GetUserSessions(cmd.Context(), args[0])
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(us)
			}
			return printTable(a, columns[aiadmin.Session]{
				names: []string{"PROVIDER", "MODEL", "URL", "EXPIRES"},
				cells: func(s aiadmin.Session) []string {
					return []string{string(s.Provider), s.ModelId, s.Url, a.ago(s.ExpiresAt)}
				},
			}, us.Sessions)
		},
	}
}

func newAffinityClearCmd(a *app) *cobra.Command {
	var (
		yes   bool
		model string
	)
	cmd := &cobra.Command{
		Use:   "clear USER_ID",
		Short: "Clear a user's session affinity (asks first unless --yes)",
		Long: `Clear a user's session affinity, for every model or, with --model, for one,
so that their next request goes to a fresh server. On a terminal it asks
first; without one it refuses unless --yes is given.`,
		Example: `  aiadminctl affinity clear usr_abc123 --yes
  aiadminctl affinity clear usr_abc123 --model threatwinds-qwen3-6-27b --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := args[0]
			scope := "every model"
			if model != "" {
				scope = "model " + model
			}
			if err := a.confirm("clearing the affinity of "+user, fmt.Sprintf("Clear the session affinity of user %s for %s?", user, scope), yes); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.ClearAffinity(cmd.Context(), user, model)
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(res)
			}
			return a.printText("cleared %d affinity entries of user %s for %s", res.Cleared, cellText(res.UserId), scope)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "clear only this model's affinity")
	addYesFlag(cmd, &yes)
	return cmd
}
