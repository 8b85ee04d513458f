package dashboard_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/server/dashboard"
)

// TestServedWithSecurityHeaders fetches the dashboard's files, a missing
// one and the bare /ui from a replica: every answer carries the security
// headers, files come with their types and an ETag, and a missing file is a
// 404 in the API's error format.
func TestServedWithSecurityHeaders(t *testing.T) {
	r := startReplica(t, []string{"--demo=false"}, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, r.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	checkHeaders := func(path string, h http.Header) {
		t.Helper()
		want := map[string]string{
			"Content-Security-Policy": dashboard.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		}
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}

	for _, c := range []struct {
		path, contentType, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", `<script type="module" src="js/main.js">`},
		{"/ui/app.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
		{"/ui/js/main.js", "text/javascript; charset=utf-8", "signOut"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp, body := get(http.MethodGet, c.path, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.contentType || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %q, body contains %q: %v", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.contains, strings.Contains(body, c.contains))
		}
		checkHeaders(c.path, resp.Header)
		etag := resp.Header.Get("ETag")
		again, _ := get(http.MethodGet, c.path, http.Header{"If-None-Match": {etag}})
		if etag == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag %q: %d, want 304", c.path, etag, again.StatusCode)
		}
	}

	head, body := get(http.MethodHead, "/ui/", nil)
	if head.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /ui/: %d with %d bytes", head.StatusCode, len(body))
	}
	checkHeaders("HEAD /ui/", head.Header)

	redirect, _ := get(http.MethodGet, "/ui", nil)
	if redirect.StatusCode != http.StatusMovedPermanently || redirect.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d to %q", redirect.StatusCode, redirect.Header.Get("Location"))
	}
	checkHeaders("/ui", redirect.Header)

	for _, path := range []string{"/ui/missing.js", "/ui/js/", "/ui/js", "/ui/../go.mod", "/ui/static/index.html"} {
		resp, body := get(http.MethodGet, path, nil)
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" || resp.Header.Get("x-error-id") == "" {
			t.Errorf("GET %s: %d %s, want a 404 in the error format", path, resp.StatusCode, body)
		}
		checkHeaders(path, resp.Header)
	}
}

// TestNoHTMLSinksNorOtherOrigins reads every file the dashboard embeds: no
// script gives a string to an HTML parser or to eval, and nothing refers to
// another origin, so the dashboard works on an air-gapped network.
func TestNoHTMLSinksNorOtherOrigins(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(['"]|DOMParser|createContextualFragment`)
	// The SVG namespace is a name, not an address the page loads.
	origins := regexp.MustCompile(`(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}`)
	files := dashboard.Files()
	n := 0
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		if strings.HasSuffix(name, ".js") {
			if m := sinks.FindString(text); m != "" {
				t.Errorf("%s uses %s", name, m)
			}
		}
		if m := origins.FindString(text); m != "" {
			t.Errorf("%s refers to another origin: %s", name, m)
		}
		if strings.HasSuffix(name, ".html") && regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|\son[a-z]+=|style=`).MatchString(text) {
			t.Errorf("%s has an inline script, event handler or style", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("only %d files embedded", n)
	}
}
