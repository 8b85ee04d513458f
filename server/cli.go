package server

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kong"
)

// Commands of aiadmin.
const (
	// CommandServe serves the admin API; it runs when no command is given.
	CommandServe = "serve"
	// CommandHashSecret prints the hash a credentials file stores for a
	// secret read from standard input.
	CommandHashSecret = "hash-secret"
	// CommandHelp prints the help of aiadmin or of one of its commands.
	CommandHelp = "help"
)

// ErrShown is returned by ParseCommandLine after it printed the help or the
// version it was asked for: the program should exit with status 0.
var ErrShown = errors.New("help or version shown")

// CommandLineOptions are where ParseCommandLine prints and what it reports.
type CommandLineOptions struct {
	// Stdout receives the help and the version; nil discards them.
	Stdout io.Writer
	// Version is what --version prints; empty prints "dev".
	Version string
}

// commandLine is aiadmin's grammar, for kong.
type commandLine struct {
	Version    kong.VersionFlag `help:"print the version and exit"`
	Serve      serveCommand     `cmd:"" default:"withargs" help:"serve the admin API (the default: runs when no command is given)"`
	HashSecret struct{}         `cmd:"" name:"hash-secret" help:"print the SHA-256 a credentials file stores for a secret read from standard input"`
	Help       struct {
		Command []string `arg:"" optional:"" help:"the command to describe"`
	} `cmd:"" help:"show the help of aiadmin or of a command"`
}

// serveCommand takes every setting of Config as a flag.
type serveCommand struct {
	Config `embed:""`
}

// Help is the description kong prints below the serve command's summary.
func (serveCommand) Help() string {
	return "The admin API of an LLM inference fleet: pods on RunPod, servers, " +
		"registry, session affinity and demand, over the routing state in Valkey. " +
		"Every flag also reads the environment variable shown after it in brackets " +
		"(AIADMIN_<FLAG>: upper case, \"-\" as \"_\"; an empty variable counts as unset); " +
		"a flag on the command line wins. An invalid setting stops start-up with one line naming it."
}

// exitRequest carries kong's request to exit, after printing help or the
// version, out of its parse: ParseCommandLine returns instead of exiting.
type exitRequest int

// ParseCommandLine reads aiadmin's command line: the command (serve when
// none is given) and, for serve, the configuration from the flags and from
// the environment through getenv, validated. It returns ErrShown once it has
// printed the help or the version asked for. Errors name the setting at
// fault, on one line, and never contain a secret.
func ParseCommandLine(args []string, getenv func(string) string, o CommandLineOptions) (command string, cfg Config, err error) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	var cli commandLine
	from := map[string]string{} // flag name -> the variable that set it
	configFlags := map[*kong.Value]bool{}
	var serveFlags []*kong.Flag
	isConfig := func(v *kong.Value) bool { return configFlags[v] }
	k, err := kong.New(&cli,
		kong.Name("aiadmin"),
		kong.Vars{"version": o.Version},
		kong.Writers(o.Stdout, io.Discard),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.ExplicitGroups(configGroups),
		kong.Resolvers(envResolver(getenv, isConfig, from)),
		kong.ValueFormatter(func(v *kong.Value) string { return flagHelp(v, isConfig(v)) }),
		kong.Help(printHelp),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 120}),
		kong.PostBuild(func(k *kong.Kong) error {
			for _, n := range k.Model.Children {
				if n.Name != CommandServe {
					continue
				}
				serveFlags = n.Flags
				for _, f := range n.Flags {
					configFlags[f.Value] = true
					if f.PlaceHolder == "" && !f.IsBool() {
						f.PlaceHolder = placeholder(f.Target.Type())
					}
				}
			}
			return nil
		}),
	)
	if err != nil {
		return "", Config{}, fmt.Errorf("building the command line: %w", err)
	}
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		code, ok := r.(exitRequest)
		if !ok {
			panic(r)
		}
		command, cfg, err = "", Config{}, ErrShown
		if code != 0 {
			err = fmt.Errorf("exit status %d", int(code))
		}
	}()
	ctx, err := k.Parse(args)
	if err != nil {
		return "", Config{}, explain(k, args, []error{err}, from)
	}
	if ctx.Selected() == nil {
		// Kong selects serve when no command is given; this is a backstop.
		return "", Config{}, errors.New("no command given (aiadmin -h lists the commands)")
	}
	switch command = ctx.Selected().Name; command {
	case CommandHelp:
		// The help of "help serve" is the help of "serve --help".
		_, _, err := ParseCommandLine(append(cli.Help.Command, "--help"), getenv, o)
		return "", Config{}, err
	case CommandServe:
		given := map[string]bool{}
		for _, p := range ctx.Path {
			if p.Flag != nil {
				given[p.Flag.Name] = true
			}
		}
		cfg = cli.Serve.Config
		if errs := cfg.finish(serveFlags, given); len(errs) > 0 {
			return "", Config{}, explain(k, args, errs, from)
		}
	}
	return command, cfg, nil
}

// explain turns parse and validation errors into one line that names the
// settings at fault and the variables they came from, and points at -h
// instead of printing the whole usage.
func explain(k *kong.Kong, args []string, errs []error, from map[string]string) error {
	// "--demo false": a switch takes its value after "=", so kong sees a
	// stray argument; name the switch instead.
	for i := 0; i+1 < len(args) && args[i] != "--"; i++ {
		name, ok := strings.CutPrefix(args[i], "--")
		if next := args[i+1]; ok && isSwitch(k, name) && !strings.HasPrefix(next, "-") && !isCommand(k, next) {
			return fmt.Errorf("--%s: give its value with \"=\", as --%s=%s", name, name, next)
		}
	}
	msgs := make([]string, 0, len(errs))
	for _, err := range errs {
		msg := err.Error()
		// "unknown flag --lsten, did you mean..." leads with the setting too.
		if rest, ok := strings.CutPrefix(msg, "unknown flag "); ok {
			name, more, found := strings.Cut(rest, ",")
			msg = name + ": unknown flag"
			if found {
				msg += "," + more
			}
		}
		for flag, env := range from {
			if strings.HasPrefix(msg, "--"+flag+":") || strings.HasPrefix(msg, "--"+flag+"=") {
				msg += " (from " + env + ")"
			}
		}
		msgs = append(msgs, msg)
	}
	return fmt.Errorf("%s (aiadmin -h lists every setting)", strings.Join(msgs, "; "))
}

func isSwitch(k *kong.Kong, name string) bool {
	for _, n := range k.Model.Children {
		for _, f := range n.Flags {
			if f.Name == name {
				return f.IsBool()
			}
		}
	}
	return false
}

func isCommand(k *kong.Kong, word string) bool {
	for _, n := range k.Model.Children {
		if n.Name == word {
			return true
		}
	}
	return false
}

// flagHelp is a flag's line of help: for a Config flag, its default, if
// any, and its environment variables.
func flagHelp(v *kong.Value, config bool) string {
	if !config {
		return v.Help
	}
	h := v.Help
	switch {
	case v.HasDefault && v.Default != "":
		h += " (default " + v.Default + ")"
	case v.Flag != nil && v.Flag.IsBool():
		h += " (default false)"
	}
	return h + " [$" + strings.Join(envVars(v), ", $") + "]"
}

// printHelp prints kong's help, except for aiadmin itself (and serve, which
// runs without a command word): its usage, serve's flags, then the commands.
func printHelp(o kong.HelpOptions, ctx *kong.Context) error {
	if sel := ctx.Selected(); sel != nil && sel.Name != CommandServe {
		return kong.DefaultHelpPrinter(o, ctx)
	}
	serve, err := kong.Trace(ctx.Kong, []string{CommandServe})
	if err != nil {
		return err
	}
	w := ctx.Stdout
	fmt.Fprintln(w, "Usage:")
	for _, n := range ctx.Model.Children {
		if n.Name == CommandServe {
			fmt.Fprintln(w, "  aiadmin [serve] [flags]")
		} else {
			fmt.Fprintln(w, "  aiadmin", n.Summary())
		}
	}
	o.NoAppSummary = true
	if err := kong.DefaultHelpPrinter(o, serve); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 4, ' ', 0)
	for _, n := range ctx.Model.Children {
		fmt.Fprintf(tw, "  %s\t%s\n", n.Name, n.Help)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, "\nRun \"aiadmin help <command>\" for the help of a command.")
	return err
}
