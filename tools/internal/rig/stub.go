package rig

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// Inference is a loopback stand-in for a fleet of inference servers: every
// server URL below it answers GET .../models with a model list, so the
// health prober finds every registered server healthy without any traffic
// leaving the machine.
type Inference struct {
	url string
	srv *http.Server
	ln  net.Listener
}

// inferenceModels is what every stand-in server says it serves.
const inferenceModels = `{"object":"list","data":[{"id":"bench-model"}]}`

// StartInference serves the stand-in on a free loopback port until Close.
func StartInference() (*Inference, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/models") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(inferenceModels))
	})
	in := &Inference{url: "http://" + ln.Addr().String(), ln: ln, srv: &http.Server{
		Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
	}}
	go func() { _ = in.srv.Serve(ln) }()
	return in, nil
}

// URLTemplate is the backend URL of a pod served by the stand-in, with
// "{id}" for the pod id, as aiadmin's --pod-url-template takes it.
func (in *Inference) URLTemplate() string { return in.url + "/pods/{id}/v1" }

// URL is the backend URL of pod id.
func (in *Inference) URL(id string) string { return strings.ReplaceAll(in.URLTemplate(), "{id}", id) }

// Close stops serving.
func (in *Inference) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = in.srv.Close()
	}
}
