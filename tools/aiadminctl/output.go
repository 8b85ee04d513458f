package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// errOther marks a failure that is neither the command line's nor the
// server's, such as standard output closed: exit 1.
var errOther = errors.New("failed")

// printJSON writes v as one indented JSON document.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%w: writing the output: %v", errOther, err)
	}
	return nil
}

// printJSONLine writes v as JSON on one line, for output that streams one
// document per event.
func (a *app) printJSONLine(v any) error {
	if err := json.NewEncoder(a.stdout).Encode(v); err != nil {
		return fmt.Errorf("%w: writing the output: %v", errOther, err)
	}
	return nil
}

// columns describe a table: the default columns, the columns -o wide adds
// after them, and a row's cells for both, in that order.
type columns[T any] struct {
	names []string
	wide  []string
	cells func(T) []string
}

// printTable writes items as an aligned table with the columns the output
// format asks for.
func printTable[T any](a *app, cols columns[T], items []T) error {
	names := cols.names
	if a.output == "wide" {
		names = append(append([]string(nil), cols.names...), cols.wide...)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, it := range items {
		cells := cols.cells(it)[:len(names)]
		for i, c := range cells {
			cells[i] = cellText(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("%w: writing the output: %v", errOther, err)
	}
	return nil
}

// cellText keeps a value from the server on one cell: no tabs, no line
// breaks, no terminal escapes, "-" for nothing.
func cellText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}

// printText writes a one-line result of a write in table output.
func (a *app) printText(format string, args ...any) error {
	if _, err := fmt.Fprintf(a.stdout, format+"\n", args...); err != nil {
		return fmt.Errorf("%w: writing the output: %v", errOther, err)
	}
	return nil
}

// listFlags are the paging flags of a list command.
type listFlags struct {
	page, limit int
	all         bool
}

func addListFlags(cmd *cobra.Command, lf *listFlags) {
	cmd.Flags().IntVar(&lf.page, "page", 0, "page to show, from 1 (default 1)")
	cmd.Flags().IntVar(&lf.limit, "limit", 0, "items per page, 1 to 100 (default 10)")
	cmd.Flags().BoolVar(&lf.all, "all", false, "follow every page (with -o json: one array of every item)")
}

// list is one list operation: a page as the API's document with its items
// and total, and an iterator over every page.
type list[D, T any] struct {
	noun  string
	page  func(ctx context.Context, page, limit int) (*D, []T, int64, error)
	every func(ctx context.Context) iter.Seq2[T, error]
	cols  columns[T]
}

// run prints one page, or with --all every page.
func (l list[D, T]) run(ctx context.Context, a *app, lf listFlags) error {
	if lf.all && (lf.page != 0 || lf.limit != 0) {
		return usagef("--all walks every page itself: leave out --page and --limit")
	}
	if !lf.all {
		doc, items, total, err := l.page(ctx, lf.page, lf.limit)
		if err != nil {
			return failed(err)
		}
		if a.output == "json" {
			return a.printJSON(doc)
		}
		if err := printTable(a, l.cols, items); err != nil {
			return err
		}
		page, limit := max(lf.page, 1), lf.limit
		if limit == 0 {
			limit = 10
		}
		if int64(page)*int64(limit) < total {
			fmt.Fprintf(a.stderr, "page %d: %d of %d %s; --page %d for more, --all for every page\n", page, len(items), total, l.noun, page+1)
		}
		return nil
	}
	items := []T{}
	for it, err := range l.every(ctx) {
		if err != nil {
			return failed(err)
		}
		items = append(items, it)
	}
	if a.output == "json" {
		return a.printJSON(items)
	}
	return printTable(a, l.cols, items)
}

// ago shows a time relative to now: "3m ago", "in 2h", or "never" for zero.
func (a *app) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := a.now().Sub(t)
	if d < 0 {
		return "in " + short(-d)
	}
	return short(d) + " ago"
}

// agoMillis shows epoch milliseconds relative to now; 0 is "never".
func (a *app) agoMillis(ms int64) string {
	if ms == 0 {
		return "never"
	}
	return a.ago(time.UnixMilli(ms))
}

// agoRFC3339 shows an RFC 3339 time relative to now; empty is "-", and a
// time that does not parse is shown as given.
func (a *app) agoRFC3339(s string) string {
	if s == "" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return a.ago(t)
}

// short is a duration in its largest whole unit.
func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

// idle shows how long a backend has been idle; one never used has no idle
// time ("-"), though the API gives 0 for it.
func idle(lastUseMs, idleSeconds int64) string {
	if lastUseMs == 0 {
		return "-"
	}
	return short(time.Duration(idleSeconds) * time.Second)
}

// yesNo shows a health verdict; nil (in no pool) is "-".
func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	default:
		return "no"
	}
}
