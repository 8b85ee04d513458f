package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// requestValidator checks every admin request against the embedded spec,
// for the route echo matched. Using echo's match rather than a second router
// keeps the two from disagreeing (GET /registry/refresh is the registry of a
// model named "refresh", not a wrong method on the refresh operation).
// The validator also injects the documented defaults of page and limit.
func requestValidator(spec *openapi3.T) (echo.MiddlewareFunc, error) {
	routes := map[string]*routers.Route{}
	for path, item := range spec.Paths.Map() {
		echoPath := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			routes[method+" "+echoPath] = &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	opts := &openapi3filter.Options{
		// Credentials were checked by the authenticate middleware, which
		// runs first; this only confirms it did.
		AuthenticationFunc: func(ctx context.Context, _ *openapi3filter.AuthenticationInput) error {
			if _, ok := principalFrom(ctx); ok {
				return nil
			}
			return errors.New("request was not authenticated")
		},
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			route, ok := routes[c.Request().Method+" "+c.Path()]
			if !ok {
				return next(c)
			}
			// Decode exactly as the generated wrapper does: echo routes on the
			// raw path when there is one, and then the values are still escaped.
			escaped := c.Request().URL.RawPath != ""
			params := map[string]string{}
			for i, name := range c.ParamNames() {
				v := c.ParamValues()[i]
				if escaped {
					u, err := url.PathUnescape(v)
					if err != nil {
						return newAPIError(http.StatusBadRequest, "invalid path parameter "+name).withDetail("bad percent-encoding")
					}
					v = u
				}
				params[name] = v
			}
			// Query() drops what it cannot parse (a bad escape, a semicolon,
			// pairs past net/url's limit); a value must never vanish silently.
			query, err := url.ParseQuery(c.Request().URL.RawQuery)
			if err != nil {
				return newAPIError(http.StatusBadRequest, "invalid query string").withDetail("the query string is malformed (bad percent-encoding, a semicolon, or too many parameters)")
			}
			if err := singleQueryValues(route, query); err != nil {
				return err
			}
			if route.Operation.RequestBody != nil {
				if err := bufferUTF8Body(c.Request()); err != nil {
					return err
				}
			}
			in := &openapi3filter.RequestValidationInput{
				Request:    c.Request(),
				PathParams: params,
				Route:      route,
				Options:    opts,
			}
			if err := openapi3filter.ValidateRequest(c.Request().Context(), in); err != nil {
				var re *openapi3filter.RequestError
				if errors.As(err, &re) {
					return fromRequestError(re)
				}
				var se *openapi3filter.SecurityRequirementsError
				if errors.As(err, &se) {
					return newAPIError(http.StatusUnauthorized, "missing credentials")
				}
				return newAPIError(http.StatusBadRequest, "invalid request").withCause(err)
			}
			return next(c)
		}
	}, nil
}

// bufferUTF8Body reads the request body into memory (the body limit has
// already bounded it), refuses one that is not UTF-8 as JSON must be, and
// puts it back for the validator and the handler. Reading it here also lets
// a chunked body over the limit answer 413 rather than a decoding error.
func bufferUTF8Body(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	data, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return he
		}
		return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body could not be read").withCause(err)
	}
	if !utf8.Valid(data) {
		return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body must be UTF-8 JSON")
	}
	if err := checkJSONContentType(r, len(data) > 0); err != nil {
		return err
	}
	// The decoders stop after the first JSON value; trailing data would be
	// ignored silently, so a body that is not exactly one document is refused.
	// Other media types are left to the validator, which refuses them.
	if r.Header.Get("Content-Type") == jsonMediaType && len(data) > 0 {
		if !json.Valid(data) {
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body is not a valid JSON object")
		}
		if repeatsKey(data) {
			// Decoders disagree on repeated keys (and the handler's decoder
			// matches keys regardless of case): which one wins is not left
			// to chance.
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("an object repeats a key (keys are compared regardless of case)")
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return nil
}

const jsonMediaType = "application/json"

// checkJSONContentType refuses a Content-Type header that is repeated or,
// on a request with a body, malformed, and a JSON charset other than UTF-8.
// A JSON media type in any letter case is rewritten as "application/json",
// the one spelling the handler's decoder accepts.
func checkJSONContentType(r *http.Request, hasBody bool) error {
	values := r.Header.Values("Content-Type")
	if len(values) > 1 {
		return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the Content-Type header must be given once")
	}
	if len(values) == 0 || !hasBody {
		return nil
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the Content-Type header is malformed")
	}
	if mt != jsonMediaType {
		return nil
	}
	for name, v := range params {
		if name != "charset" || !strings.EqualFold(v, "utf-8") {
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body must be UTF-8 JSON (application/json, charset utf-8 if any)")
		}
	}
	r.Header.Set("Content-Type", jsonMediaType)
	return nil
}

// foldKey maps every rune of k to the smallest rune of its Unicode case
// orbit, so that two keys encoding/json would match to one field (it folds
// case by Unicode rules: "ſ" matches "s", "K" (Kelvin) matches "k") fold to
// the same string.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range k {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// repeatsKey reports whether any object in data, a valid JSON document, has
// two keys equal regardless of case.
func repeatsKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	// One set of keys per open container; nil for an array.
	var open []map[string]bool
	expectKey := func() bool {
		return len(open) > 0 && open[len(open)-1] != nil
	}
	// Inside an object, tokens alternate key, value; values may open
	// containers of their own.
	var afterKey []bool
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				open, afterKey = append(open, map[string]bool{}), append(afterKey, false)
			case '[':
				open, afterKey = append(open, nil), append(afterKey, false)
			default:
				open, afterKey = open[:len(open)-1], afterKey[:len(afterKey)-1]
				if len(afterKey) > 0 {
					afterKey[len(afterKey)-1] = false
				}
			}
			continue
		case string:
			if expectKey() && !afterKey[len(afterKey)-1] {
				k := foldKey(t)
				if open[len(open)-1][k] {
					return true
				}
				open[len(open)-1][k] = true
				afterKey[len(afterKey)-1] = true
				continue
			}
		}
		if len(afterKey) > 0 {
			afterKey[len(afterKey)-1] = false
		}
	}
}

// singleQueryValues refuses a documented query parameter given more than
// once (page=1&page=2): the server does not pick one.
func singleQueryValues(route *routers.Route, query url.Values) error {
	for _, ref := range append(route.PathItem.Parameters, route.Operation.Parameters...) {
		if p := ref.Value; p != nil && p.In == openapi3.ParameterInQuery && len(query[p.Name]) > 1 {
			return newAPIError(http.StatusBadRequest, "invalid query parameter "+p.Name).withDetail("must be given at most once")
		}
	}
	return nil
}
