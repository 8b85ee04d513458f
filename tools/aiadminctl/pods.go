package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newPodsCmd(a *app) *cobra.Command {
	cmd := groupCmd("pods", "Inference pods on RunPod: list, get, restart, cycle")
	cmd.AddCommand(newPodsListCmd(a), newPodsGetCmd(a), newPodsRestartCmd(a), newPodsCycleCmd(a))
	return cmd
}

// podColumns are the columns of pods list and pods get.
func podColumns(a *app) columns[aiadmin.Pod] {
	return columns[aiadmin.Pod]{
		names: []string{"NAME", "ID", "STATUS", "HEALTHY", "DRAINING", "INFLIGHT", "LAST USE", "COST/HR"},
		wide:  []string{"URL", "KIND", "MODELS", "GPU", "LOCATION", "STATUS CHANGED", "IDLE"},
		cells: func(p aiadmin.Pod) []string {
			return []string{
				p.Name, p.Id, p.DesiredStatus, yesNo(p.Healthy), draining(p), fmt.Sprint(p.Inflight),
				a.agoMillis(p.LastUseMs), fmt.Sprintf("$%.2f", p.CostPerHr),
				p.Url, p.Kind, strings.Join(p.Models, ","), p.GpuTypeId, p.Location,
				a.agoRFC3339(p.LastStatusChange), idle(p.LastUseMs, p.IdleSeconds),
			}
		},
	}
}

func newPodsListCmd(a *app) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the fleet's pods with health, load and cost",
		Example: `  aiadminctl pods list
  aiadminctl pods list --all -o wide
  aiadminctl pods list --all -o json | jq -r '.[] | select(.healthy == false) | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			return list[aiadmin.PodList, aiadmin.Pod]{
				noun: "pods",
				page: func(ctx context.Context, page, limit int) (*aiadmin.PodList, []aiadmin.Pod, int64, error) {
					l, err := c.ListPods(ctx, page, limit)
					if err != nil {
						return nil, nil, 0, err
					}
					return l, l.Pods, l.Total, nil
				},
				every: c.Pods,
				cols:  podColumns(a),
			}.run(cmd.Context(), a, lf)
		},
	}
	addListFlags(cmd, &lf)
	return cmd
}

func newPodsGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:               "get POD_ID",
		Short:             "Show one pod, with when it last started",
		Example:           "  aiadminctl pods get inzk6tzuz833h5 -o wide",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completePodIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			p, err := c.GetPod(cmd.Context(), args[0])
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(p)
			}
			base := podColumns(a)
			n := len(base.names)
			return printTable(a, columns[aiadmin.PodDetail]{
				names: append(base.names[:n:n], "STARTED"),
				wide:  base.wide,
				cells: func(d aiadmin.PodDetail) []string {
					c := base.cells(podOf(d))
					return slices.Concat(c[:n], []string{a.agoRFC3339(d.LastStartedAt)}, c[n:])
				},
			}, []aiadmin.PodDetail{*p})
		},
	}
}

// podOf takes the fields a pod list shows from a pod's detail.
func podOf(d aiadmin.PodDetail) aiadmin.Pod {
	return aiadmin.Pod{
		Id: d.Id, Name: d.Name, DesiredStatus: d.DesiredStatus, Kind: d.Kind, Models: d.Models,
		Healthy: d.Healthy, Inflight: d.Inflight, LastUseMs: d.LastUseMs, IdleSeconds: d.IdleSeconds,
		LastStatusChange: d.LastStatusChange, CostPerHr: d.CostPerHr, DataCenterId: d.DataCenterId,
		Location: d.Location, GpuTypeId: d.GpuTypeId, Url: d.Url, Draining: d.Draining,
	}
}

// draining shows whether a pod's URL is drained; "-" for a pod in no server
// pool, which nothing routes to anyway.
func draining(p aiadmin.Pod) string {
	if p.Healthy == nil && !p.Draining {
		return "-"
	}
	return yesNo(&p.Draining)
}

func newPodsRestartCmd(a *app) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "restart POD_ID",
		Short: "Restart a pod: stop it, then resume it (asks first unless --yes)",
		Long: `Restart a pod: RunPod stops it, then resumes it with its GPU count (a spot
pod bids what it paid). The answer comes once RunPod accepted both calls; the
pod's status changes after. On a terminal it asks first; without one it
refuses unless --yes is given.`,
		Example:           "  aiadminctl pods restart inzk6tzuz833h5 --yes",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completePodIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := a.confirm("restarting pod "+id, fmt.Sprintf("Restart pod %s? It is stopped, then resumed.", id), yes); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.RestartPod(cmd.Context(), id)
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(res)
			}
			return a.printText("pod %s: restart %s", cellText(res.PodId), cellText(string(res.Status)))
		},
	}
	addYesFlag(cmd, &yes)
	return cmd
}

// completePodIDs offers the fleet's pod ids, described by name, for shell
// completion; a failure offers nothing rather than an error.
func (a *app) completePodIDs(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if err := a.resolve(cmd); err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	c, err := a.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ids []cobra.Completion
	for p, err := range c.Pods(ctx) {
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ids = append(ids, cobra.CompletionWithDesc(p.Id, p.Name))
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// groupCmd is a command that only holds subcommands; run alone, or with an
// unknown subcommand, it is a usage error.
func groupCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := make([]string, 0, len(cmd.Commands()))
			for _, sub := range cmd.Commands() {
				names = append(names, sub.Name())
			}
			return usagef("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(names, ", "))
		},
	}
}
