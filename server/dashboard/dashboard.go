// Package dashboard is the operator dashboard: plain HTML, CSS and
// JavaScript modules embedded in the binary and served at /ui/. The page
// talks to the public admin API only, with the credential the operator
// pastes in, so it can do nothing its user could not do with curl.
//
// Every answer under /ui/ carries a strict Content-Security-Policy: scripts
// and styles from this origin only, no inline script, no eval, requests to
// this origin only, no framing, and Trusted Types enforced so that no string
// can ever be parsed as HTML by the page.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// Path is where the dashboard is served.
const Path = "/ui/"

// ContentSecurityPolicy is the policy of every /ui/ answer. Trusted Types
// with no policy allowed make innerHTML and its kin throw, so API values can
// only ever reach the page as text.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

//go:embed static
var static embed.FS

// Files are the dashboard's files, index.html at the root.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The directory is embedded at build time; its absence is a build bug.
		panic(err)
	}
	return sub
}

// Register serves the dashboard on e at Path, and redirects the path without
// its trailing slash there. Missing files are echo's 404, so they reach the
// server's error handler like any unknown route.
func Register(e *echo.Echo) {
	files := Files()
	etags := fileETags(files)
	g := e.Group(strings.TrimSuffix(Path, "/"), securityHeaders)
	redirect := func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, Path) }
	g.GET("", redirect)
	g.HEAD("", redirect)
	serve := func(c echo.Context) error {
		name := path.Clean("/" + c.Param("*"))[1:]
		if name == "" {
			name = "index.html"
		}
		etag, ok := etags[name]
		if !ok {
			return echo.ErrNotFound
		}
		h := c.Response().Header()
		// Revalidated on every load, so a new binary's files are used at
		// once; the ETag keeps that to a 304.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		http.ServeFileFS(c.Response(), c.Request(), files, name)
		return nil
	}
	g.GET("/*", serve)
	g.HEAD("/*", serve)
}

// securityHeaders sets the dashboard's security headers on every answer
// under Path, error answers included.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		return next(c)
	}
}

// fileETags hashes every regular file once; a name missing from the map is
// not served, which also keeps directory listings out.
func fileETags(files fs.FS) map[string]string {
	etags := map[string]string{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[name] = `"` + hex.EncodeToString(sum[:16]) + `"`
		return nil
	})
	if err != nil {
		panic(err)
	}
	return etags
}
