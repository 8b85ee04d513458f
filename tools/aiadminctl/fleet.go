package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newFleetCmd(a *app) *cobra.Command {
	cmd := groupCmd("fleet", "The fleet at a glance")
	cmd.AddCommand(newFleetSummaryCmd(a))
	return cmd
}

func newFleetSummaryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "summary",
		Short: "Show pods, cost, idle pods, servers per provider and traffic",
		Long: `Show the fleet at a glance: pods (running of all), what the running pods
cost per hour, the running pods with no request for the idle time the
server counts and what they cost, the requests in flight and of the last 5
minutes; then, per provider, its servers by health and drain (a draining
server is also counted healthy or unhealthy).`,
		Example: `  aiadminctl fleet summary
  aiadminctl fleet summary -o json | jq '.idle.cost_per_hr'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			s, err := c.GetFleetSummary(cmd.Context())
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(s)
			}
			return a.printSummary(s)
		},
	}
}

// printSummary shows the fleet's totals, then a row per provider.
func (a *app) printSummary(s *aiadmin.FleetSummary) error {
	err := printTable(a, columns[aiadmin.FleetSummary]{
		names: []string{"PODS", "RUNNING", "COST/HR", "IDLE", "IDLE COST/HR", "INFLIGHT", "REQUESTS (5M)"},
		wide:  []string{"IDLE AFTER", "BY STATUS"},
		cells: func(s aiadmin.FleetSummary) []string {
			return []string{
				fmt.Sprint(s.Pods.Total), fmt.Sprint(s.Pods.ByStatus["RUNNING"]), fmt.Sprintf("$%.2f", s.CostPerHr),
				fmt.Sprint(s.Idle.Pods), fmt.Sprintf("$%.2f", s.Idle.CostPerHr), fmt.Sprint(s.Inflight), fmt.Sprint(s.Requests5m),
				fmt.Sprintf("%dm", s.Idle.IdleAfterMinutes), byStatus(s.Pods.ByStatus),
			}
		},
	}, []aiadmin.FleetSummary{*s})
	if err != nil {
		return err
	}
	if err := a.printText(""); err != nil {
		return err
	}
	return printTable(a, columns[aiadmin.ProviderServers]{
		names: []string{"PROVIDER", "SERVERS", "HEALTHY", "UNHEALTHY", "DRAINING"},
		cells: func(p aiadmin.ProviderServers) []string {
			return []string{p.Name, fmt.Sprint(p.Servers), fmt.Sprint(p.Healthy), fmt.Sprint(p.Unhealthy), fmt.Sprint(p.Draining)}
		},
	}, s.Providers)
}

// byStatus shows pod counts per status in a stable order: "EXITED=2,RUNNING=10".
func byStatus(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, ",")
}
