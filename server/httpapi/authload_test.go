package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
)

// getStatus sends GET path with header to the environment's server and
// returns the status, without failing the test, so goroutines may call it.
func (env *testEnv) getStatus(path string, header http.Header) (int, error) {
	req, err := http.NewRequest(http.MethodGet, env.url+path, http.NoBody)
	if err != nil {
		return 0, err
	}
	req.Header = header.Clone()
	resp, err := env.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// TestThreatWindsOneTokenFiveHundredRequests sends 500 concurrent requests
// to the admin API over loopback with one token it has never seen: the
// Auth API is asked once, and every request is answered 200.
func TestThreatWindsOneTokenFiveHundredRequests(t *testing.T) {
	standIn := startAuthAPI(t)
	env := newAuthAPIEnv(t, standIn, authapi.Options{})
	const token = "tok-burst-never-seen-9a41"
	standIn.AddSession(token, authapitest.Session{UserID: "usr_ops", Verified: true, ExpireAt: time.Now().Add(time.Hour), Roles: []string{auth.AdminRole}})
	// Slow enough that every request arrives while the one check is open.
	standIn.SetDelay(500 * time.Millisecond)
	standIn.ResetCalls()

	const requests = 500
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		ok     atomic.Int64
		mu     sync.Mutex
		failed []string
	)
	for range requests {
		wg.Go(func() {
			<-start
			status, err := env.getStatus("/api/ai/v1/admin/affinity", bearerHeader(token))
			if err == nil && status == http.StatusOK {
				ok.Add(1)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if len(failed) < 5 {
				failed = append(failed, fmt.Sprintf("status %d, %v", status, err))
			}
		})
	}
	close(start)
	wg.Wait()

	if n := ok.Load(); n != requests {
		t.Errorf("%d of %d requests answered 200; first failures: %v", n, requests, failed)
	}
	if n := standIn.Calls(); n != 1 {
		t.Errorf("Auth API calls = %d, want 1", n)
	}
}

// TestThreatWindsBadTokensStayWithinCacheBound sends thousands of distinct
// bad tokens through the admin API: each is refused with a 401, each costs
// one Auth API call, and the server's answer cache never grows past its
// configured bound. (The client-level test does the same with 100,000.)
func TestThreatWindsBadTokensStayWithinCacheBound(t *testing.T) {
	standIn := startAuthAPI(t)
	const (
		tokens     = 3000
		maxEntries = 100
		workers    = 16
	)
	client := authapi.New(authapi.Options{BaseURL: standIn.URL(), MaxEntries: maxEntries})
	t.Cleanup(client.CloseIdleConnections)
	env := newEnv(t, func(o *envOptions) { o.authenticator = client })
	standIn.ResetCalls()

	var (
		next, refused, largest atomic.Int64
		wg                     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= tokens; i = next.Add(1) {
				status, err := env.getStatus("/api/ai/v1/admin/affinity", bearerHeader(fmt.Sprintf("tok-bad-%06d", i)))
				if err == nil && status == http.StatusUnauthorized {
					refused.Add(1)
				}
				for n := int64(client.Len()); ; {
					seen := largest.Load()
					if n <= seen || largest.CompareAndSwap(seen, n) {
						break
					}
				}
			}
		})
	}
	wg.Wait()

	if n := refused.Load(); n != tokens {
		t.Errorf("%d of %d bad tokens were refused with 401", n, tokens)
	}
	if n := standIn.Calls(); n != tokens {
		t.Errorf("Auth API calls = %d, want %d (one per distinct token)", n, tokens)
	}
	if n := largest.Load(); n > maxEntries || n == 0 {
		t.Errorf("the cache held at most %d answers during the run; want between 1 and the bound %d", n, maxEntries)
	}
	// The server still serves a good credential afterwards.
	if status, err := env.getStatus("/api/ai/v1/admin/affinity", bearerHeader(adminToken)); err != nil || status != http.StatusOK {
		t.Errorf("after the bad tokens: %d %v", status, err)
	}
}
