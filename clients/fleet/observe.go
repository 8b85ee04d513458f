package fleet

import (
	"context"
	"errors"

	"github.com/valkey-io/valkey-go"
)

// ObserveFailures returns c, reporting every command that fails to observe
// with the command's name (as "HMGET" or "EVALSHA") and its error; what it
// returns is c's. valkey-go has no hooks in its own module, so this wraps
// the two calls every command of this package goes through, Do and DoMulti
// (scripts included). Not failures: a nil answer (a missing key), NOSCRIPT
// (the script's first run on a server, which the client answers by sending
// it) and a caller that gave up (context.Canceled). Commands on dedicated
// connections and pub/sub receives are not observed. observe must be quick
// and safe for concurrent use.
func ObserveFailures(c valkey.Client, observe func(command string, err error)) valkey.Client {
	return &observedClient{Client: c, observe: observe}
}

type observedClient struct {
	valkey.Client
	observe func(command string, err error)
}

// Do runs cmd. The name is read first: the client recycles cmd once sent.
func (o *observedClient) Do(ctx context.Context, cmd valkey.Completed) valkey.ValkeyResult {
	name := commandName(cmd)
	r := o.Client.Do(ctx, cmd)
	if err := r.Error(); isFailure(err) {
		o.observe(name, err)
	}
	return r
}

// DoMulti runs cmds in one pipeline and reports each command that failed.
func (o *observedClient) DoMulti(ctx context.Context, cmds ...valkey.Completed) []valkey.ValkeyResult {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = commandName(c)
	}
	rs := o.Client.DoMulti(ctx, cmds...)
	for i, r := range rs {
		if err := r.Error(); isFailure(err) && i < len(names) {
			o.observe(names[i], err)
		}
	}
	return rs
}

// commandName is the first word of a command, which this package's code
// chooses, so the names are few.
func commandName(c valkey.Completed) string {
	if words := c.Commands(); len(words) > 0 {
		return words[0]
	}
	return ""
}

func isFailure(err error) bool {
	if err == nil || valkey.IsValkeyNil(err) || errors.Is(err, context.Canceled) {
		return false
	}
	if ve, ok := valkey.IsValkeyErr(err); ok && ve.IsNoScript() {
		return false
	}
	return true
}
