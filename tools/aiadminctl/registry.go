package main

import (
	"context"
	"iter"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newRegistryCmd(a *app) *cobra.Command {
	cmd := groupCmd("registry", "Which backend URLs serve each model: get, refresh")
	cmd.AddCommand(newRegistryGetCmd(a), newRegistryRefreshCmd(a))
	return cmd
}

func newRegistryGetCmd(a *app) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "get MODEL_ID",
		Short: "List the backend URLs registered for a model",
		Example: `  aiadminctl registry get threatwinds-qwen3-6-27b
  aiadminctl registry get threatwinds-qwen3-6-27b --all -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			model := args[0]
			return list[aiadmin.Registry, string]{
				noun: "URLs",
				page: func(ctx context.Context, page, limit int) (*aiadmin.Registry, []string, int64, error) {
					r, err := c.GetRegistry(ctx, model, page, limit)
					if err != nil {
						return nil, nil, 0, err
					}
					return r, r.Urls, r.Total, nil
				},
				every: func(ctx context.Context) iter.Seq2[string, error] {
					return c.RegistryURLs(ctx, model)
				},
				cols: columns[string]{
					names: []string{"URL"},
					cells: func(u string) []string { return []string{u} },
				},
			}.run(cmd.Context(), a, lf)
		},
	}
	addListFlags(cmd, &lf)
	return cmd
}

func newRegistryRefreshCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Have every replica and router rebuild its routing tables",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			res, err := c.RefreshRegistry(cmd.Context())
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(res)
			}
			return a.printText("registry refresh %s", cellText(string(res.Status)))
		},
	}
}
