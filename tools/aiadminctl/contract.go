package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/openapi"
	"github.com/threatwinds/aiadmin/tools/aiadminctl/internal/contract"
)

// errContractFailed is a run with failed checks: exit 6, an answer outside
// the contract.
var errContractFailed = errors.New("the deployment does not keep the contract")

func newContractCmd(a *app) *cobra.Command {
	var (
		writes     bool
		restartPod string
	)
	cmd := &cobra.Command{
		Use:   "contract",
		Short: "Check the deployment against the API contract built into aiadminctl",
		Long: `Check the deployment against the OpenAPI contract built into aiadminctl.

The checks come from the contract's operations: every read operation is
called (path values are taken from what the lists answered), then sent
malformed requests (paging out of range, not an integer or given twice,
invalid and unknown ids, missing, wrong and ambiguous credentials), plus an
unknown route and a wrong method per path. Every answer, errors included, is
validated: a status the operation declares, the body's schema, and x-error
and x-error-id on errors.

Nothing is changed unless asked: --writes adds a registry refresh and an
affinity clear of a user id the suite invents; --restart-pod ID restarts
that pod.

One row per check (operation, request, status, verdict), then
"N passed, N failed". A failed check names the JSON path or header at fault
and what the spec expected. Exit 0 when every check passed, 6 when one
failed, 7 when the server could not be reached.`,
		Example: `  aiadminctl contract
  AIADMIN_URL=https://apis.example.com aiadminctl contract --writes -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := contract.LoadSpec(cmd.Context(), openapi.AdminYAML())
			if err != nil {
				return fmt.Errorf("%w: the built-in contract: %v", errOther, err)
			}
			if _, err := a.client(); err != nil {
				return err // the same check of --server as every command
			}
			results, err := contract.Run(cmd.Context(), contract.Config{
				BaseURL: a.server, Spec: spec,
				Client: &http.Client{
					Timeout: a.timeout,
					// A redirect is an answer to check, not to follow.
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
				},
				Token: a.token, APIKey: a.apiKey, APISecret: a.apiSecret,
				Writes: writes, RestartPod: restartPod,
			})
			if err != nil {
				return failed(err)
			}
			return a.printContract(results)
		},
	}
	cmd.Flags().BoolVar(&writes, "writes", false, "also run the writes: a registry refresh and an affinity clear of an invented user")
	cmd.Flags().StringVar(&restartPod, "restart-pod", "", "also restart this pod (its id)")
	return cmd
}

// printContract writes one row per check and the summary, and fails when a
// check did.
func (a *app) printContract(results []contract.Result) error {
	passed, failedN, skipped := 0, 0, 0
	for _, r := range results {
		switch r.Verdict {
		case contract.Pass:
			passed++
		case contract.Fail:
			failedN++
		default:
			skipped++
		}
	}
	if a.output == "json" {
		if err := a.printJSON(results); err != nil {
			return err
		}
	} else {
		err := printTable(a, columns[contract.Result]{
			names: []string{"OPERATION", "REQUEST", "STATUS", "VERDICT"},
			cells: func(r contract.Result) []string {
				status := "-"
				if r.Status != 0 {
					status = fmt.Sprint(r.Status)
				}
				verdict := r.Verdict
				if r.Failure != "" {
					verdict += ": " + r.Failure
				}
				return []string{r.Operation, r.Request, status, verdict}
			},
		}, results)
		if err != nil {
			return err
		}
		summary := fmt.Sprintf("%d passed, %d failed", passed, failedN)
		if skipped > 0 {
			summary += fmt.Sprintf(" (%d skipped)", skipped)
		}
		if err := a.printText("%s", summary); err != nil {
			return err
		}
	}
	if failedN > 0 {
		var ops []string
		for _, r := range results {
			if r.Verdict == contract.Fail && !slices.Contains(ops, r.Operation) {
				ops = append(ops, r.Operation)
			}
		}
		return &contractError{failed: failedN, ops: ops}
	}
	return nil
}

// contractError reports failed checks on standard error: exit 6.
type contractError struct {
	failed int
	ops    []string
}

func (e *contractError) Error() string {
	return fmt.Sprintf("%d checks failed, of %s", e.failed, strings.Join(e.ops, ", "))
}

func (e *contractError) Unwrap() error { return errContractFailed }
