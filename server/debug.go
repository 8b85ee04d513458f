package server

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/zap"
)

// debugServer serves net/http/pprof, and nothing else, on a listener of its
// own, so that profiles are never reachable through the API's address. Its
// writes may take as long as the longest profile asked for.
func debugServer(addr string, log *zap.Logger) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--debug-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          zap.NewStdLog(log.Named("debug")),
	}
	return srv, ln, nil
}

// DebugAddr is the address pprof is served on, or "" when --debug-listen is
// off.
func (a *App) DebugAddr() string {
	if a.debugLn == nil {
		return ""
	}
	return a.debugLn.Addr().String()
}
