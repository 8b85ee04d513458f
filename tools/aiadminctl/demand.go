package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newDemandCmd(a *app) *cobra.Command {
	cmd := groupCmd("demand", "Per-pod demand telemetry")
	cmd.AddCommand(newDemandGetCmd(a))
	return cmd
}

func newDemandGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get POD_URL|POD_ID",
		Short: "Show a backend's requests in flight, last use and per-model rates",
		Long: `Show the demand of one backend: requests in flight, last use and, per model,
requests in flight and over the last 5 minutes. Give the backend URL as it
is registered (an absolute http or https URL; aiadminctl encodes it), or a
pod id, whose URL pods get shows: aiadminctl reads the pod first and asks
for the demand of its URL.`,
		Example: `  aiadminctl demand get https://inzk6tzuz833h5.proxy.runpod.net/v1
  aiadminctl demand get inzk6tzuz833h5`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completePodIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			isURL := strings.Contains(target, "://")
			if u, err := url.Parse(target); isURL && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
				return usagef("%q is not an absolute http(s) URL (give one, or a pod id)", target)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if !isURL {
				// A pod id: the demand is kept per backend URL, which the
				// pod's detail gives.
				p, err := c.GetPod(cmd.Context(), target)
				if err != nil {
					return failed(err)
				}
				target = p.Url
			}
			d, err := c.GetPodDemand(cmd.Context(), target)
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(d)
			}
			return a.printDemand(d)
		},
	}
}

// printDemand shows the backend's totals, then a row per model.
func (a *app) printDemand(d *aiadmin.PodDemand) error {
	err := printTable(a, columns[aiadmin.PodDemand]{
		names: []string{"URL", "INFLIGHT", "LAST USE", "IDLE"},
		cells: func(d aiadmin.PodDemand) []string {
			return []string{d.Url, fmt.Sprint(d.Inflight), a.agoMillis(d.LastUseMs), idle(d.LastUseMs, d.IdleSeconds)}
		},
	}, []aiadmin.PodDemand{*d})
	if err != nil || len(d.Models) == 0 {
		return err
	}
	if err := a.printText(""); err != nil {
		return err
	}
	return printTable(a, columns[aiadmin.ModelDemand]{
		names: []string{"MODEL", "INFLIGHT", "REQUESTS (5M)"},
		cells: func(m aiadmin.ModelDemand) []string {
			return []string{m.ModelId, fmt.Sprint(m.Inflight), fmt.Sprint(m.Rate5m)}
		},
	}, d.Models)
}
