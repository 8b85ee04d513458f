package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// Exit codes, which automation may rely on; rootLong documents them.
const (
	exitOK          = 0
	exitOther       = 1
	exitUsage       = 2
	exitAuth        = 3
	exitNotFound    = 4
	exitRefused     = 5
	exitServer      = 6
	exitUnreachable = 7
	// exitTimeout: a wait of pods cycle timed out; the pod is left drained.
	exitTimeout = 8
	// exitInterrupted: pods cycle was interrupted by a signal (128 + SIGINT,
	// as a shell reports a command Ctrl-C ended); the pod is left drained.
	exitInterrupted = 130
)

const rootLong = `aiadminctl operates an aiadmin deployment: pods, the server pool and its
drains, session affinity, the model registry, per-pod demand, the audit
trail and the fleet summary. It also checks a deployment against the API
contract built into it (aiadminctl contract).

Server and credentials come from flags or the environment; a flag wins:
  --server      AIADMIN_URL         base URL, scheme and host (default http://127.0.0.1:8080)
  --token       AIADMIN_TOKEN       bearer token
  --api-key     AIADMIN_API_KEY     key of a key pair, with
  --api-secret  AIADMIN_API_SECRET  its secret
Prefer the variables for secrets: a flag's value shows in the process list.
When any credential flag is given, the credential variables are ignored.

Output: an aligned table (-o table, the default), every column (-o wide), or
the API's JSON (-o json; with --all, one array of every page's items).

Exit codes:
  0  success
  1  any other failure (such as standard output closed)
  2  usage error, or a destructive action not confirmed
  3  authentication or permission refused (401, 403)
  4  not found (404)
  5  any other refusal of the request (other 4xx)
  6  server or upstream failure (5xx), or an answer outside the contract
  7  the server could not be reached
  8  pods cycle: a wait timed out (the pod is left drained)
  130  pods cycle: interrupted by Ctrl-C or SIGTERM (the pod is left drained)
On failure, one line on standard error gives the message, the detail and
the error id the server logged.`

// app is what every command shares: the global flags, the streams, and
// whether standard input is a terminal (for confirmations).
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinTTY       bool
	getenv         func(string) string
	now            func() time.Time

	server, token, apiKey, apiSecret string
	output                           string
	timeout                          time.Duration
}

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// requestError is a failed call to the server; its code depends on how it
// failed.
type requestError struct{ err error }

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// failed wraps an SDK error so that exitCode can tell it from cobra's own
// errors, which are all usage errors.
func failed(err error) error {
	if err == nil {
		return nil
	}
	return &requestError{err: err}
}

// newRootCmd builds the command tree. Each area of the API adds its
// commands in a file of its own; a new area is one more AddCommand here.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "aiadminctl",
		Short:         "Operate an aiadmin deployment from the shell",
		Long:          rootLong,
		Version:       aiadmin.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.resolve(cmd)
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.server, "server", "", "base URL of the deployment, scheme and host (env AIADMIN_URL; default http://127.0.0.1:8080)")
	f.StringVar(&a.token, "token", "", "bearer token (prefer env AIADMIN_TOKEN)")
	f.StringVar(&a.apiKey, "api-key", "", "API key of a key pair (prefer env AIADMIN_API_KEY)")
	f.StringVar(&a.apiSecret, "api-secret", "", "API secret of a key pair (prefer env AIADMIN_API_SECRET)")
	f.StringVarP(&a.output, "output", "o", "table", "output format: table, wide or json")
	f.DurationVar(&a.timeout, "timeout", aiadmin.DefaultTimeout, "timeout of one request to the server")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	root.AddCommand(
		newPodsCmd(a),
		newServersCmd(a),
		newAffinityCmd(a),
		newRegistryCmd(a),
		newDemandCmd(a),
		newAuditCmd(a),
		newFleetCmd(a),
		newContractCmd(a),
	)
	return root
}

// resolve fills what the flags left out from the environment and checks
// the global flags.
func (a *app) resolve(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if !flags.Changed("server") {
		a.server = a.getenv("AIADMIN_URL")
		if a.server == "" {
			a.server = "http://127.0.0.1:8080"
		}
	}
	if !flags.Changed("token") && !flags.Changed("api-key") && !flags.Changed("api-secret") {
		a.token = a.getenv("AIADMIN_TOKEN")
		a.apiKey = a.getenv("AIADMIN_API_KEY")
		a.apiSecret = a.getenv("AIADMIN_API_SECRET")
	}
	switch {
	case a.token != "" && (a.apiKey != "" || a.apiSecret != ""):
		return usagef("give a token or a key pair, not both")
	case (a.apiKey == "") != (a.apiSecret == ""):
		return usagef("a key pair needs both --api-key and --api-secret (or AIADMIN_API_KEY and AIADMIN_API_SECRET)")
	case a.timeout <= 0:
		return usagef("--timeout must be positive")
	}
	switch a.output {
	case "table", "wide", "json":
	default:
		return usagef("--output %q: use table, wide or json", a.output)
	}
	return nil
}

// client builds the SDK client from the resolved flags.
func (a *app) client() (*aiadmin.Client, error) {
	opts := []aiadmin.Option{aiadmin.WithTimeout(a.timeout), aiadmin.WithUserAgent("aiadminctl/" + aiadmin.Version)}
	switch {
	case a.token != "":
		opts = append(opts, aiadmin.WithToken(a.token))
	case a.apiKey != "":
		opts = append(opts, aiadmin.WithKeyPair(a.apiKey, a.apiSecret))
	}
	c, err := aiadmin.New(a.server, opts...)
	if err != nil {
		return nil, usagef("--server: %s", strings.TrimPrefix(err.Error(), "aiadmin: "))
	}
	return c, nil
}

// execute runs the command line and returns the exit code, after writing
// one line about any failure to standard error.
func execute(a *app, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(context.Background())
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	msg := err.Error()
	var ae *aiadmin.APIError
	var cs *cycleStop
	switch {
	case errors.As(err, &cs):
		// Its message already holds the cause's, and says what was left.
	case errors.As(err, &ae):
		msg = strings.TrimPrefix(ae.Error(), "aiadmin: ")
	case code == exitUsage:
		msg += fmt.Sprintf(" (see %s --help)", cmd.CommandPath())
	case code == exitUnreachable:
		msg = fmt.Sprintf("cannot reach %s: %s", a.server, strings.TrimPrefix(msg, "aiadmin: "))
	}
	fmt.Fprintln(a.stderr, "aiadminctl: "+oneLine(msg))
	return code
}

// exitCode maps a failure to the documented exit codes.
func exitCode(err error) int {
	var ue *usageError
	var re *requestError
	var ae *aiadmin.APIError
	var cs *cycleStop
	switch {
	case errors.As(err, &cs):
		if cs.code != 0 {
			return cs.code
		}
		// Otherwise the request that failed decides, as for any command.
		return exitCode(failed(cs.cause))
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ae):
		switch {
		case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
			return exitAuth
		case ae.Status == http.StatusNotFound:
			return exitNotFound
		case ae.Status >= 400 && ae.Status < 500:
			return exitRefused
		default:
			return exitServer
		}
	case errors.Is(err, aiadmin.ErrBadResponse):
		return exitServer
	case errors.As(err, &re):
		return exitUnreachable
	case errors.Is(err, errContractFailed):
		return exitServer
	case errors.Is(err, errOther):
		return exitOther
	default:
		// Cobra's own errors: unknown commands, flags and arguments.
		return exitUsage
	}
}

// oneLine keeps a message on one line of the terminal.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
