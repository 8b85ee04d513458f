package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

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
