package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// routeKey names a route as echo matched it: the method and the path
// template. A struct key spares building a string per request.
type routeKey struct{ method, path string }

// specRoute is an operation of the spec, with what the validator needs to
// know of it before each request.
type specRoute struct {
	route *routers.Route
	// queryParams are the names of the operation's query parameters.
	queryParams []string
	// validate is false for an operation with no parameter and no body:
	// there is nothing in the request to check against the spec.
	validate bool
}

// requestValidator checks every admin request against the embedded spec,
// for the route echo matched. Using echo's match rather than a second router
// keeps the two from disagreeing (GET /registry/refresh is the registry of a
// model named "refresh", not a wrong method on the refresh operation), and
// spares finding the route twice. The validator also injects the documented
// defaults of page and limit.
//
// The spec's security requirements are not checked again here: the
// authenticate middleware, which runs first, refuses every admin request
// it could not authenticate, and this only confirms that it did.
func requestValidator(spec *openapi3.T) (echo.MiddlewareFunc, error) {
	routes := map[routeKey]*specRoute{}
	for path, item := range spec.Paths.Map() {
		echoPath := strings.NewReplacer("{", ":", "}", "").Replace(path)
		for method, op := range item.Operations() {
			checked := *op
			checked.Security = &openapi3.SecurityRequirements{}
			r := &specRoute{route: &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: &checked}}
			for _, ref := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p := ref.Value; p != nil && p.In == openapi3.ParameterInQuery {
					r.queryParams = append(r.queryParams, p.Name)
				}
			}
			r.validate = len(item.Parameters)+len(op.Parameters) > 0 || op.RequestBody != nil
			routes[routeKey{method, echoPath}] = r
		}
	}
	opts := &openapi3filter.Options{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sr, ok := routes[routeKey{c.Request().Method, c.Path()}]
			if !ok {
				return next(c)
			}
			if _, ok := principalFrom(c.Request().Context()); !ok {
				return newAPIError(http.StatusUnauthorized, "missing credentials")
			}
			if !sr.validate {
				return next(c)
			}
			// Decode exactly as the generated wrapper does: echo routes on the
			// raw path when there is one, and then the values are still escaped.
			escaped := c.Request().URL.RawPath != ""
			var params map[string]string
			if names := c.ParamNames(); len(names) > 0 {
				params = make(map[string]string, len(names))
				for i, name := range names {
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
			}
			// Query() drops what it cannot parse (a bad escape, a semicolon,
			// pairs past net/url's limit); a value must never vanish silently.
			query, err := url.ParseQuery(c.Request().URL.RawQuery)
			if err != nil {
				return newAPIError(http.StatusBadRequest, "invalid query string").withDetail("the query string is malformed (bad percent-encoding, a semicolon, or too many parameters)")
			}
			if err := singleQueryValues(sr.queryParams, query); err != nil {
				return err
			}
			if sr.route.Operation.RequestBody != nil {
				if err := bufferUTF8Body(c.Request()); err != nil {
					return err
				}
			}
			in := &openapi3filter.RequestValidationInput{
				Request:     c.Request(),
				PathParams:  params,
				QueryParams: query,
				Route:       sr.route,
				Options:     opts,
			}
			if err := openapi3filter.ValidateRequest(c.Request().Context(), in); err != nil {
				var re *openapi3filter.RequestError
				if errors.As(err, &re) {
					return fromRequestError(re)
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
func singleQueryValues(names []string, query url.Values) error {
	for _, name := range names {
		if len(query[name]) > 1 {
			return newAPIError(http.StatusBadRequest, "invalid query parameter "+name).withDetail("must be given at most once")
		}
	}
	return nil
}
