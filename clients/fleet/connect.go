package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Connection defaults, used when the matching ConnectOptions field is zero.
const (
	// DefaultDialTimeout bounds establishing one connection.
	DefaultDialTimeout = 2 * time.Second
	// DefaultCommandTimeout bounds waiting for the answers to a pipeline; a
	// connection that exceeds it is dropped and redialled on next use.
	DefaultCommandTimeout = 3 * time.Second
	// connectRetries is how often a read-only command is retried after a
	// network error before the error is returned.
	connectRetries = 3
)

// ConnectOptions says where the fleet state lives and how patient to be
// with it.
type ConnectOptions struct {
	// Addrs are host:port addresses: one standalone server, or any nodes of a
	// cluster (detected automatically).
	Addrs []string
	// Embedded says the server is the embedded store of package embedded,
	// which speaks RESP2 only and offers no client-side caching.
	Embedded bool
	// Username and Password authenticate, when set.
	Username string
	Password string
	// TLS, when set, connects over TLS with this configuration (for a
	// server whose certificate a private CA signed, set RootCAs).
	TLS *tls.Config
	// DialTimeout bounds dialing one connection; zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// CommandTimeout bounds waiting on a live connection; zero means
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
}

// ClientOption returns the valkey-go options Connect uses, for a caller that
// needs to add to them (a custom dialer, say) before calling valkey.NewClient.
func (o ConnectOptions) ClientOption() valkey.ClientOption {
	dial := o.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	cmd := o.CommandTimeout
	if cmd <= 0 {
		cmd = DefaultCommandTimeout
	}
	opt := valkey.ClientOption{
		InitAddress:      o.Addrs,
		Username:         o.Username,
		Password:         o.Password,
		TLSConfig:        o.TLS,
		Dialer:           net.Dialer{Timeout: dial, KeepAlive: time.Second},
		ConnWriteTimeout: cmd,
		// valkey-go retries read-only commands after network errors until the
		// context ends; a bounded number of retries makes an outage surface as
		// an error within seconds while the client redials on every later call.
		RetryDelay: func(attempts int, _ valkey.Completed, _ error) time.Duration {
			if attempts >= connectRetries {
				return -1
			}
			return time.Duration(50<<attempts) * time.Millisecond
		},
	}
	if o.Embedded {
		opt.DisableCache = true
		opt.AlwaysRESP2 = true
		opt.ForceSingleClient = true
		opt.ClientSetInfo = valkey.DisableClientSetInfo
	}
	return opt
}

// Connect builds a valkey-go client from o and checks that the server
// answers before ctx ends. The caller closes the client.
func Connect(ctx context.Context, o ConnectOptions) (valkey.Client, error) {
	if len(o.Addrs) == 0 {
		return nil, errors.New("connecting to valkey: no addresses")
	}
	c, err := valkey.NewClient(o.ClientOption())
	if err != nil {
		return nil, fmt.Errorf("connecting to valkey at %v: %w", o.Addrs, err)
	}
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		return nil, fmt.Errorf("pinging valkey at %v: %w", o.Addrs, err)
	}
	return c, nil
}
