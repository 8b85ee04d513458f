package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pool"
)

// Credentials the test environment accepts.
const (
	adminToken    = "tok-admin-4b7d1e0c9a"
	rolelessToken = "tok-viewer-77f0a2c1d3"
	botKey        = "k_live_bot"
	botSecret     = "s3cret-bot-9d8e7f"
)

// lockedBuffer collects log output from concurrent writers.
type lockedBuffer = contracttest.LockedBuffer

// testEnv is one aiadmin HTTP server on loopback over a real Valkey, with
// generated clients for each kind of caller.
type testEnv struct {
	valkey   *valkeytest.Server
	store    *fleet.Store
	url      string
	tr       *contracttest.Transport
	http     *http.Client
	logs     *lockedBuffer
	admin    *adminclient.ClientWithResponses // bearer with ai_admin
	bot      *adminclient.ClientWithResponses // key pair with ai_admin
	roleless *adminclient.ClientWithResponses // bearer without the role
	anon     *adminclient.ClientWithResponses // no credentials
}

type envOptions struct {
	handlers func(*httpapi.Handlers, *fleet.Store)
	now      func() time.Time
	// cluster runs the store on a 3-master Redis Cluster instead of one server.
	cluster bool
	// authenticator replaces the credentials file; it must accept the
	// credentials above with the same users and roles.
	authenticator auth.Authenticator
	// valkey is a server another env already uses: the two are replicas of
	// one deployment. Nil starts a server of the env's own.
	valkey *valkeytest.Server
	// limits are the rate limits; their store is the env's when left nil.
	// The zero value limits nothing, which the suites that send many
	// requests (contract, hostile, fuzz, load) rely on.
	limits httpapi.RateLimits
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *testEnv {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	env := &testEnv{logs: &lockedBuffer{}}
	var addrs []string
	switch {
	case o.cluster:
		addrs = valkeytest.StartCluster(t)
	case o.valkey != nil:
		env.valkey = o.valkey
		addrs = []string{env.valkey.Addr()}
	default:
		env.valkey = valkeytest.StartServer(t)
		addrs = []string{env.valkey.Addr()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: addrs, CommandTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("connecting to the test valkey: %v", err)
	}
	t.Cleanup(client.Close)
	env.store = fleet.New(client, fleet.Options{Now: o.now})

	log := zap.New(zapcoreFor(env.logs))
	var authn auth.Authenticator = o.authenticator
	if authn == nil && os.Getenv("AIADMIN_TEST_AUTH_MODE") == server.AuthModeThreatWinds {
		// The same callers, checked by a stand-in ThreatWinds Auth API over HTTP.
		t.Log("auth mode: threatwinds (stand-in Auth API)")
		c := authapi.New(authapi.Options{BaseURL: startAuthAPI(t).URL()})
		t.Cleanup(c.CloseIdleConnections)
		authn = c
	}
	if authn == nil {
		f, err := auth.NewFileAuthenticator([]auth.FileEntry{
			{UserID: "usr_ops", Roles: []string{"user", auth.AdminRole}, BearerSHA256: auth.HashSecret(adminToken)},
			{UserID: "usr_viewer", Roles: []string{"user"}, BearerSHA256: auth.HashSecret(rolelessToken)},
			{UserID: "usr_bot", Roles: []string{auth.AdminRole}, APIKey: botKey, APISecretSHA256: auth.HashSecret(botSecret)},
		})
		if err != nil {
			t.Fatal(err)
		}
		authn = f
	}
	h := &httpapi.Handlers{
		Affinity: env.store, Registry: env.store, Refresher: env.store, Demand: env.store,
		Drains: pool.NewDrains(env.store), Sessions: env.store, AuditTrail: env.store,
		Audit: httpapi.ValkeyAuditor{Store: env.store},
		Log:   log, Now: o.now,
	}
	if o.handlers != nil {
		o.handlers(h, env.store)
	}
	if o.limits.Store == nil {
		o.limits.Store = env.store
	}
	e, err := httpapi.NewHTTPHandler(httpapi.HTTPOptions{Logger: log, Authenticator: authn, API: h, RateLimits: o.limits,
		Ready: func(ctx context.Context) error { return client.Do(ctx, client.B().Ping().Build()).Error() }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	env.url = srv.URL
	env.tr = &contracttest.Transport{Spec: contracttest.Spec(t)}
	env.http = &http.Client{Transport: env.tr, Timeout: 30 * time.Second}
	t.Cleanup(func() { env.checkContract(t) })

	mk := func(edit adminclient.RequestEditorFn) *adminclient.ClientWithResponses {
		opts := []adminclient.ClientOption{adminclient.WithHTTPClient(env.http)}
		if edit != nil {
			opts = append(opts, adminclient.WithRequestEditorFn(edit))
		}
		c, err := adminclient.NewClientWithResponses(srv.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	env.admin = mk(bearer(adminToken))
	env.roleless = mk(bearer(rolelessToken))
	env.bot = mk(func(_ context.Context, r *http.Request) error {
		r.Header.Set("api-key", botKey)
		r.Header.Set("api-secret", botSecret)
		return nil
	})
	env.anon = mk(nil)
	return env
}

// zapcoreFor logs JSON lines, as production does, into w.
func zapcoreFor(w *lockedBuffer) zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zap.DebugLevel)
}

func bearer(token string) adminclient.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// checkContract fails the test for every response that broke the contract
// and for any credential that reached the log.
func (env *testEnv) checkContract(t *testing.T) {
	t.Helper()
	for _, r := range env.tr.Results() {
		if r.Err != nil {
			t.Errorf("contract violated: %v", r.Err)
		}
		// 500 is documented only for a refresh that could not be triggered.
		refresh := r.Method == http.MethodPost && r.Path == "/api/ai/v1/admin/registry/refresh"
		if r.Status >= 500 && r.Status != http.StatusBadGateway && r.Status != http.StatusServiceUnavailable && !(refresh && r.Status == 500) {
			t.Errorf("%s %s answered %d", r.Method, r.Path, r.Status)
		}
	}
	logs := env.logs.String()
	for _, secret := range []string{adminToken, rolelessToken, botSecret, auth.HashSecret(adminToken), auth.HashSecret(botSecret)} {
		if bytes.Contains([]byte(logs), []byte(secret)) {
			t.Errorf("a credential reached the log: %q", secret)
		}
	}
}

// do sends a raw request through the validating transport.
func (env *testEnv) do(t *testing.T, method, path string, header http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.url+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := env.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, buf.Bytes()
}
