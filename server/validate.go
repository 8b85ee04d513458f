package server

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
			if err := singleQueryValues(route, c.QueryParams()); err != nil {
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
	// The decoders stop after the first JSON value; trailing data would be
	// ignored silently, so a body that is not exactly one document is refused.
	// Other media types are left to the validator, which refuses them.
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body must be UTF-8 JSON")
		}
		if len(data) > 0 && !json.Valid(data) {
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body is not a valid JSON object")
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return nil
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
