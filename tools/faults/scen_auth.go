package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
	"github.com/threatwinds/aiadmin/tools/internal/load"
)

const (
	authTimeout = time.Second
	// authTTLMargin is the uncertainty around when a credential's cache entry
	// expires: it was stored when the Auth API's answer came, between the
	// start and the end of the request that cached it, and requests reach
	// aiadmin a little after they are sent.
	authTTLMargin = 100 * time.Millisecond
	// authUnavailable is the answer when the Auth API cannot say.
	authUnavailable = "503 auth service unavailable"
)

// authPhase is one way the Auth API fails.
type authPhase struct {
	name   string
	inject func(s *authapitest.Server)
}

var authPhases = []authPhase{
	{"down (every call answers 503)", func(s *authapitest.Server) { s.SetFailing(http.StatusServiceUnavailable) }},
	{"slow (every call takes twice --auth-timeout)", func(s *authapitest.Server) { s.SetDelay(2 * authTimeout) }},
}

// runAuth runs aiadmin in threatwinds mode and takes the Auth API down, then
// makes it slow: credentials in the cache keep working until their TTL, the
// others get 503 auth service unavailable within --auth-timeout.
func runAuth(ctx context.Context, e *env) *report {
	ttl := e.cfg.pick(6*time.Second, 3*time.Second)
	rep := newReport("auth", "the Auth API down, then slow, under load (threatwinds mode)")
	api := authapitest.NewServer()
	e.onClose(api.Close)
	// Served by the tool, like the other stand-ins, so that its idle
	// connections can be dropped before levels are measured.
	apiUp, err := e.serve(api.Handler())
	if err != nil {
		rep.fail(err)
		return rep
	}
	vk, err := e.launchValkey(ctx)
	if err != nil {
		rep.fail(err)
		return rep
	}
	addrs := []string{vk.Addr()}
	// The warm-up authenticates with the tool's token: a session too.
	addSessions(api, e.token)
	args := slices.Concat(e.baseArgs(addrs), []string{"--auth-mode", "threatwinds", "--auth-url", apiUp.URL(),
		"--auth-timeout", authTimeout.String(), "--auth-cache-ttl", ttl.String(), "--auth-negative-ttl", "1s"})
	rep.figure("--auth-timeout %s, --auth-cache-ttl %s", authTimeout, ttl)
	ops := []string{opAffinity, opRegistry, opServers, opDemand}
	st, err := e.openStage(ctx, rep, addrs, mixOf(ops...), args...)
	if err != nil {
		rep.fail(err)
		return rep
	}
	defer st.finish()

	for _, ph := range authPhases {
		if ctx.Err() != nil {
			break
		}
		runAuthPhase(ctx, rep, st, api, ph, ops, ttl)
	}
	return rep
}

// runAuthPhase caches one set of tokens, takes the Auth API down as ph
// says, loads aiadmin with the cached tokens and with a set it never saw,
// until the cached ones have expired, and brings the Auth API back.
func runAuthPhase(ctx context.Context, rep *report, st *stage, api *authapitest.Server, ph authPhase, ops []string, ttl time.Duration) {
	e := st.e
	k := e.cfg.workers
	cached, uncached := newTokens(k), newTokens(k)
	addSessions(api, cached...)
	addSessions(api, uncached...)
	m := newMix(e, st.p, ops...)

	// One request per cached token puts it in aiadmin's cache; its entry
	// expires a TTL after the Auth API's answer.
	var cachedFrom, cachedTo time.Time
	for i, tok := range cached {
		r := m.request(opAffinity, i, 0)
		r.Header = bearer(tok)
		res := load.Do(ctx, st.client, r)
		if !res.OK() {
			rep.fail(fmt.Errorf("%s: caching a credential: %s", ph.name, res))
			return
		}
		if i == 0 {
			cachedFrom = res.Start
		}
		cachedTo = res.End()
	}

	ph.inject(api)
	downAt := time.Now()
	l := st.startWith(load.Options{Workers: k, Pause: e.cfg.pause, Context: ctx, Next: func(w, n int) load.Request {
		r := m.request(ops[(w+n/2)%len(ops)], w, n)
		if n%2 == 0 {
			r.Header, r.Op = bearer(cached[w%k]), r.Op+" (cached)"
		} else {
			r.Header, r.Op = bearer(uncached[(w+n)%k]), r.Op+" (uncached)"
		}
		return r
	}})
	// Long enough for requests with expired credentials to be refused
	// before the Auth API comes back, also when a worker's turn with its
	// cached credential comes every 2 × --auth-timeout (slow refusals of
	// its cached and its uncached credential in turn).
	sleep(ctx, time.Until(cachedTo.Add(ttl+4*authTimeout+e.cfg.pick(2*time.Second, time.Second))))
	api.SetFailing(0)
	api.SetDelay(0)
	upAt := time.Now()
	sleep(ctx, e.cfg.pick(3*time.Second, 2*time.Second))
	l.Stop()
	endAt := time.Now()

	rs := l.Recorder().Results()
	isCached := func(r load.Result) bool { return strings.HasSuffix(r.Op, " (cached)") }
	during := rs.StartedIn(downAt, upAt)
	rep.answers(ph.name+": cached credentials", during.Filter(isCached))
	rep.answers(ph.name+": uncached credentials", during.Filter(func(r load.Result) bool { return !isCached(r) }))
	rep.onlyAnswers(ph.name+": every answer while the Auth API failed", during, "200", authUnavailable)

	valid := cachedFrom.Add(ttl - authTTLMargin)
	fresh := during.Filter(isCached).StartedIn(downAt, valid)
	rep.expect(len(fresh) > 0 && len(fresh.Filter(isKey("200"))) == len(fresh),
		"%s: cached credentials keep working until their TTL: %d of %d requests sent up to %s after caching answered 200 (TTL %s less %s)",
		ph.name, len(fresh.Filter(isKey("200"))), len(fresh), ms(valid.Sub(cachedFrom)), ttl, authTTLMargin)

	expired := during.Filter(isCached).StartedIn(cachedTo.Add(ttl+authTTLMargin), upAt).Filter(func(r load.Result) bool { return r.End().Before(upAt) })
	uncachedRs := during.Filter(func(r load.Result) bool { return !isCached(r) && r.End().Before(upAt) })
	refused := slices.Concat(expired, uncachedRs)
	rep.onlyAnswers(ph.name+": uncached and expired credentials", refused, authUnavailable)
	rep.within(ph.name+": their 503s", refused, authTimeout+timeoutSlack, fmt.Sprintf("--auth-timeout + %s", timeoutSlack))
	rep.expect(len(expired) > 0, "%s: %d requests with expired cached credentials were refused with 503 (past their TTL + %s)", ph.name, len(expired), authTTLMargin)

	// A check begun while the Auth API failed may still fail after it came back.
	after := rs.StartedIn(upAt, endAt)
	rec, ok := after.Recovery(upAt, load.Result.OK)
	rep.expect(ok && rec <= authTimeout+timeoutSlack, "%s: every credential works again within --auth-timeout + %s of the Auth API's return: %s",
		ph.name, timeoutSlack, ms(rec))
}

// newTokens makes n random bearer tokens.
func newTokens(n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = "tok_faults_" + rand.Text()
	}
	return toks
}

// addSessions makes the Auth API know each token as a verified ai_admin
// session for an hour.
func addSessions(api *authapitest.Server, tokens ...string) {
	for _, t := range tokens {
		api.AddSession(t, authapitest.Session{SessionID: "ses_" + t[len(t)-8:], UserID: "usr_faults", Verified: true,
			ExpireAt: time.Now().Add(time.Hour), Roles: []string{auth.AdminRole}})
	}
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
