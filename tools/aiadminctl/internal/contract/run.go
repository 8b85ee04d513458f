package contract

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Config is what a run needs: where the deployment is, how to
// authenticate, the spec, and which writes the user allowed.
type Config struct {
	// BaseURL is the deployment's scheme and host, without the API prefix.
	BaseURL string
	// Spec is the contract, loaded with LoadSpec.
	Spec *openapi3.T
	// Client sends the requests; nil means one with a 30 s timeout. It
	// should not follow redirects: a redirect is itself an answer to check.
	Client *http.Client
	// Token, or APIKey with APISecret, are valid admin credentials.
	Token, APIKey, APISecret string
	// Writes runs the write operations that need no target (a registry
	// refresh, an affinity clear of a user the suite invents).
	Writes bool
	// RestartPod, when set, runs RestartPod on this pod.
	RestartPod string
}

// Verdicts of a check.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Result is the outcome of one check.
type Result struct {
	Operation string `json:"operation"`
	Request   string `json:"request"`
	Status    int    `json:"status,omitempty"`
	Verdict   string `json:"verdict"`
	// Failure names the JSON path or header at fault and what the spec
	// expected; Note says why a check was skipped.
	Failure string `json:"failure,omitempty"`
}

// ErrUnreachable means the first request got no answer at all.
var ErrUnreachable = errors.New("the server could not be reached")

// maxBody bounds what is read of one answer.
const maxBody = 32 << 20

// runner holds a run's state: the values harvested from lists so far, by
// the path of the operation that listed them.
type runner struct {
	cfg       Config
	prefix    string
	client    *http.Client
	harvested map[string]map[string][]string
	answered  bool
	results   []Result
}

// Run derives the checks from the spec, sends them in order and returns
// one Result per check. It returns ErrUnreachable (with no results) when
// the first request got no answer.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	ops := operations(cfg.Spec)
	r := &runner{cfg: cfg, prefix: apiPrefix(ops), client: cfg.Client, harvested: map[string]map[string][]string{}}
	if r.client == nil {
		r.client = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	// Lists first: their answers give the ids the other reads need.
	for _, o := range ops {
		if o.read() && len(o.pathParams) == 0 {
			if err := r.runAll(ctx, readChecks(o, nil, true)); err != nil {
				return nil, err
			}
		}
	}
	for _, o := range ops {
		if o.read() && len(o.pathParams) > 0 {
			values, discovered := r.values(o)
			if err := r.runAll(ctx, readChecks(o, values, discovered)); err != nil {
				return nil, err
			}
		}
	}
	if err := r.runAll(ctx, r.outsideChecks(ops)); err != nil {
		return nil, err
	}
	for _, o := range ops {
		if o.read() {
			continue
		}
		if err := r.runWrite(ctx, o); err != nil {
			return nil, err
		}
	}
	return r.results, nil
}

// runWrite runs the checks of a write operation if the user allowed it,
// and otherwise records why it was skipped.
func (r *runner) runWrite(ctx context.Context, o *operation) error {
	skip := func(why string) {
		r.results = append(r.results, Result{Operation: o.id, Request: o.method + " " + strings.TrimPrefix(o.path, r.prefix), Verdict: Skip, Failure: why})
	}
	values := map[string]string{}
	switch {
	case o.id == "RestartPod":
		if r.cfg.RestartPod == "" {
			skip("runs only with --restart-pod ID")
			return nil
		}
		values["id"] = r.cfg.RestartPod
	case !r.cfg.Writes:
		skip("runs only with --writes")
		return nil
	case len(o.pathParams) > 0:
		skip("needs a target the suite cannot invent safely")
		return nil
	}
	if targetsServer(o) {
		// A body naming a server would act on a real one: the suite sends
		// an invented URL that no pool holds, and expects the declared 404,
		// so it checks the write path without draining anything.
		return r.runAll(ctx, writeChecks(o, values, inventURL, http.StatusNotFound))
	}
	return r.runAll(ctx, writeChecks(o, values, invent, http.StatusOK))
}

// targetsServer reports whether o's body names a server by its url and o
// declares the 404 of a url no pool holds.
func targetsServer(o *operation) bool {
	rb := o.op.RequestBody
	if rb == nil || rb.Value == nil || !o.declares(http.StatusNotFound) {
		return false
	}
	mt := rb.Value.Content.Get("application/json")
	return mt != nil && mt.Schema != nil && mt.Schema.Value != nil && mt.Schema.Value.Properties["url"] != nil
}

// inventURL returns an absolute URL that names no real server: the .invalid
// top-level domain is reserved never to resolve.
func inventURL() string { return "https://" + invent() + ".invalid/v1" }

// invent returns a fresh value for a write's body, such as a user id no
// real user has.
func invent() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "contract-" + hex.EncodeToString(b)
}

// outsideChecks address what the spec does not define: an unknown route and
// a method each path lacks. Both must still answer in the error format.
func (r *runner) outsideChecks(ops []*operation) []*check {
	checks := []*check{{label: "(unknown route)", method: http.MethodGet, path: r.prefix + "/contract-no-such-route", want: []int{http.StatusNotFound}}}
	seen := map[string]bool{}
	for _, o := range ops {
		if seen[o.path] {
			continue
		}
		seen[o.path] = true
		if m := unusedMethod(o.item); m != "" {
			values, _ := r.values(o)
			checks = append(checks, &check{label: "(wrong method)", method: m, path: o.fill(values), want: []int{http.StatusMethodNotAllowed}})
		}
	}
	return checks
}

// values picks a value for each path parameter of o from what the lists
// answered, preferring the list at the parameter's parent path (the ids of
// /pods for /pods/{id}). discovered is false when one had to be invented.
func (r *runner) values(o *operation) (map[string]string, bool) {
	values := map[string]string{}
	discovered := true
	for _, p := range o.pathParams {
		parent, _, _ := strings.Cut(o.path, "/{"+p.Name+"}")
		sources := []string{parent}
		for src := range r.harvested {
			if src != parent {
				sources = append(sources, src)
			}
		}
		slices.Sort(sources[1:])
		found := false
	pick:
		for _, src := range sources {
			for _, key := range harvestKeys(p.Name) {
				if vs := r.harvested[src][key]; len(vs) > 0 {
					values[p.Name], found = vs[0], true
					break pick
				}
			}
		}
		discovered = discovered && found
	}
	return values, discovered
}

func (r *runner) runAll(ctx context.Context, checks []*check) error {
	for _, c := range checks {
		if err := r.run(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// run sends one check and records its result.
func (r *runner) run(ctx context.Context, c *check) error {
	res := Result{Operation: c.label, Request: r.requestLabel(c)}
	if c.op != nil {
		res.Operation = c.op.id
	}
	req, err := r.request(ctx, c)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if !r.answered {
			return fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		res.Verdict, res.Failure = Fail, "no answer: "+err.Error()
		r.results = append(r.results, res)
		return nil
	}
	r.answered = true
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	res.Status = resp.StatusCode
	if err != nil {
		res.Verdict, res.Failure = Fail, "reading the answer: "+err.Error()
		r.results = append(r.results, res)
		return nil
	}
	if failure := validate(r.cfg.Spec, c, req, resp.StatusCode, resp.Header, body); failure != "" {
		res.Verdict, res.Failure = Fail, failure
	} else {
		res.Verdict = Pass
		if c.harvest {
			r.harvest(c.op.path, body)
		}
	}
	r.results = append(r.results, res)
	return nil
}

// request builds a check's HTTP request with the credentials it asks for.
func (r *runner) request(ctx context.Context, c *check) (*http.Request, error) {
	u := strings.TrimSuffix(r.cfg.BaseURL, "/") + c.path
	if c.query != "" {
		u += "?" + c.query
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", c.method, c.path, err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	req.Header.Set("User-Agent", "aiadminctl-contract")
	token, key, secret := r.cfg.Token, r.cfg.APIKey, r.cfg.APISecret
	switch c.creds {
	case noCredentials:
		token, key, secret = "", "", ""
	case wrongToken:
		token, key, secret = "contract-wrong-"+invent(), "", ""
	case wrongKeyPair:
		token, key, secret = "", "contract-key", "contract-wrong-"+invent()
	case halfKeyPair:
		token, key, secret = "", "contract-key", ""
	case tokenAndKeyPair:
		token, key, secret = "contract-"+invent(), "contract-key", "contract-"+invent()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("api-key", key)
	}
	if secret != "" {
		req.Header.Set("api-secret", secret)
	}
	return req, nil
}

// requestLabel shows a check's request without the API prefix, long
// segments shortened, and what is special about it.
func (r *runner) requestLabel(c *check) string {
	segs := strings.Split(strings.TrimPrefix(c.path, r.prefix), "/")
	for i, s := range segs {
		if len(s) > 48 {
			segs[i] = fmt.Sprintf("%s…(%d chars)", s[:16], len(s))
		}
	}
	l := c.method + " " + strings.Join(segs, "/")
	if c.query != "" {
		l += "?" + c.query
	}
	var notes []string
	if c.note != "" {
		notes = append(notes, c.note)
	}
	if c.creds != validCredentials {
		notes = append(notes, c.creds.label())
	}
	if len(notes) > 0 {
		l += " (" + strings.Join(notes, ", ") + ")"
	}
	return l
}
