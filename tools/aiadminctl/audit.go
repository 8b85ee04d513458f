package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

func newAuditCmd(a *app) *cobra.Command {
	cmd := groupCmd("audit", "The audit trail of administrative actions")
	cmd.AddCommand(newAuditListCmd(a))
	return cmd
}

func newAuditListCmd(a *app) *cobra.Command {
	var (
		limit  int
		before string
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List administrative actions, newest first: who did what, to what, when",
		Long: `List the audit trail, newest first: restarts, affinity clears, registry
refreshes, drains and undrains, with who did them and how they ended. One
page by default (--limit entries, 50 unless given); --before continues
below the last page; --all walks the whole trail (with -o json, one array of
every entry).`,
		Example: `  aiadminctl audit list --limit 20
  aiadminctl audit list --all -o json | jq -r '.[] | select(.action == "pod.restart") | "\(.at) \(.user_id) \(.target)"'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all && (limit != 0 || before != "") {
				return usagef("--all walks every page itself: leave out --limit and --before")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if all {
				entries := []aiadmin.AuditEntry{}
				for e, err := range c.Audit(cmd.Context()) {
					if err != nil {
						return failed(err)
					}
					entries = append(entries, e)
				}
				if a.output == "json" {
					return a.printJSON(entries)
				}
				return printTable(a, auditColumns(a), entries)
			}
			page, err := c.ListAudit(cmd.Context(), before, limit)
			if err != nil {
				return failed(err)
			}
			if a.output == "json" {
				return a.printJSON(page)
			}
			if err := printTable(a, auditColumns(a), page.Entries); err != nil {
				return err
			}
			if page.Next != "" {
				fmt.Fprintf(a.stderr, "page of %d entries; --before %s for older ones, --all for every entry\n", len(page.Entries), page.Next)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "entries per page, 1 to 200 (default 50)")
	cmd.Flags().StringVar(&before, "before", "", "show entries older than this id (the --before a previous page suggested)")
	cmd.Flags().BoolVar(&all, "all", false, "walk the whole trail (with -o json: one array of every entry)")
	return cmd
}

// auditColumns are the columns of audit list.
func auditColumns(a *app) columns[aiadmin.AuditEntry] {
	return columns[aiadmin.AuditEntry]{
		names: []string{"AT", "USER", "ACTION", "TARGET", "OUTCOME"},
		wide:  []string{"ID", "TIME"},
		cells: func(e aiadmin.AuditEntry) []string {
			return []string{a.ago(e.At), e.UserId, e.Action, e.Target, e.Outcome, e.Id, e.At.UTC().Format("2006-01-02T15:04:05.000Z")}
		},
	}
}
