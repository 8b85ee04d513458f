package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// adminToken is the bearer token with ai_admin that the app tests use.
const adminToken = "tok-admin-4b7d1e0c9a"

// lockedBuffer collects log output from concurrent writers.
type lockedBuffer = contracttest.LockedBuffer

// bearer sets a bearer token on a generated client's requests.
func bearer(token string) func(context.Context, *http.Request) error {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// zapcoreFor is a JSON log core writing every level to w.
func zapcoreFor(w *lockedBuffer) zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zap.DebugLevel)
}

// valkeyClient connects a test's own client to the Valkey at addr.
func valkeyClient(t *testing.T, addr string) valkey.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{addr}, CommandTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
