package fleet_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/embedded"
)

// The router's side of the store: it registers the servers it discovers,
// keeps each user's session on one backend, and holds a lease while a
// request is in flight.
func Example_router() {
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})

	// A pod came up: register its server and the models it serves, then
	// tell every router to reload its tables.
	const pod = "https://pod-1-8000.proxy.runpod.net/v1"
	if err := store.RegisterServer(ctx, fleet.ProviderVLLM, pod, []string{"llama-3.1-8b", "qwen-2.5-7b"}); err != nil {
		log.Fatal(err)
	}
	if err := store.PublishRefresh(ctx); err != nil {
		log.Fatal(err)
	}

	// The router's affinity step keeps a view of the drained servers; load
	// it now and, in a real router, keep it current with Watch.
	router := fleet.NewRouter(store)
	if err := router.Reload(ctx); err != nil {
		log.Fatal(err)
	}
	// pickFrom chooses the first allowed backend of a model from the
	// registry; a real router picks from its tables by load and health.
	pickFrom := func(model string) fleet.Backends {
		return fleet.Backends{Pick: func(allowed func(string) bool) string {
			urls, _, err := store.RegistryPage(ctx, model, 0, 10)
			if err != nil {
				log.Fatal(err)
			}
			for _, u := range urls {
				if allowed(u) {
					return u
				}
			}
			return ""
		}}
	}

	// A request from user u-42: no pinned backend yet, so Route picks one,
	// counts a miss and pins the session to it.
	first, err := router.Route(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b", pickFrom("llama-3.1-8b"))
	if err != nil {
		log.Fatal(err)
	}
	url := first.URL

	// Hold a lease while the request runs.
	lease, err := store.StartRequest(ctx, url, "llama-3.1-8b")
	if err != nil {
		log.Fatal(err)
	}
	during, err := store.Demand(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.FinishRequest(ctx, lease); err != nil {
		log.Fatal(err)
	}
	after, err := store.Demand(ctx, url)
	if err != nil {
		log.Fatal(err)
	}

	// The user's next request finds the pinned backend: a hit.
	again, err := router.Route(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b", pickFrom("llama-3.1-8b"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("routed to", url, "on a", first.Outcome)
	fmt.Println("in flight during:", during.Inflight, "after:", after.Inflight)
	fmt.Println("requests in 5m:", after.Models[0].ModelID, after.Models[0].Rate5m)
	fmt.Println("routed again to", again.URL, "on a", again.Outcome)
	// Output:
	// routed to https://pod-1-8000.proxy.runpod.net/v1 on a miss
	// in flight during: 1 after: 0
	// requests in 5m: llama-3.1-8b 1
	// routed again to https://pod-1-8000.proxy.runpod.net/v1 on a hit
}

// The admin API clears a user's affinity for one model, or for all.
func ExampleStore_ClearAffinity() {
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})

	for _, model := range []string{"llama-3.1-8b", "qwen-2.5-7b"} {
		if err := store.PinSession(ctx, fleet.ProviderVLLM, "u-42", model, "http://pod-1:8000"); err != nil {
			log.Fatal(err)
		}
	}
	model := "qwen-2.5-7b"
	one, err := store.ClearAffinity(ctx, "u-42", &model)
	if err != nil {
		log.Fatal(err)
	}
	rest, err := store.ClearAffinity(ctx, "u-42", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cleared", one, "then", rest)
	// Output: cleared 1 then 1
}

// A router keeps its routing tables in step with the registry: it reloads
// them once subscribed (covering what it missed) and on every refresh.
func ExampleWatchRefresh() {
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})

	// onRefresh must not block: one pending reload covers a burst.
	reload := make(chan struct{}, 1)
	watchCtx, stopWatching := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fleet.WatchRefresh(watchCtx, client, fleet.WatchOptions{}, func() {
			select {
			case reload <- struct{}{}:
			default:
			}
		})
	}()

	<-reload
	fmt.Println("subscribed: reload the routing tables")
	if err := store.PublishRefresh(ctx); err != nil {
		log.Fatal(err)
	}
	<-reload
	fmt.Println("refresh announced: reload the routing tables")
	stopWatching()
	<-done
	// Output:
	// subscribed: reload the routing tables
	// refresh announced: reload the routing tables
}

// An operator drains a server: every router reloads its view on the refresh
// Drain publishes, sends the server no new request, and moves the sessions
// pinned to it elsewhere, counting a fallback.
func ExampleStore_Drain() {
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})
	const podA, podB = "http://pod-a:8000", "http://pod-b:8000"
	if err := store.PinSession(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b", podA); err != nil {
		log.Fatal(err)
	}

	if err := store.Drain(ctx, podA, "node maintenance"); err != nil {
		log.Fatal(err)
	}
	router := fleet.NewRouter(store)
	// A router running Watch reloads by itself on the refresh.
	if err := router.Reload(ctx); err != nil {
		log.Fatal(err)
	}
	d, err := router.Route(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b", fleet.Backends{
		Pick: func(allowed func(string) bool) string {
			for _, u := range []string{podA, podB} {
				if allowed(u) {
					return u
				}
			}
			return ""
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	drains, err := store.Drains(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("drained:", podA, drains[podA].Reason)
	fmt.Println("routed to", d.URL, "on a", d.Outcome)
	// Output:
	// drained: http://pod-a:8000 node maintenance
	// routed to http://pod-b:8000 on a fallback
}

// The admin API pages through the audit trail, newest first, passing each
// page's next as the following page's before.
func ExampleStore_AuditPage() {
	srv, err := embedded.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})
	for _, pod := range []string{"pod-1", "pod-2", "pod-3"} {
		e := fleet.AuditEntry{UserID: "usr_ops", Action: "pod.restart", Target: pod, Outcome: "initiated"}
		if err := store.AppendAudit(ctx, e, fleet.DefaultAuditMaxLen); err != nil {
			log.Fatal(err)
		}
	}
	before := ""
	for page := 1; ; page++ {
		entries, next, err := store.AuditPage(ctx, before, 2)
		if err != nil {
			log.Fatal(err)
		}
		for _, e := range entries {
			fmt.Println("page", page, e.Action, e.Target)
		}
		if next == "" {
			break
		}
		before = next
	}
	// Output:
	// page 1 pod.restart pod-3
	// page 1 pod.restart pod-2
	// page 2 pod.restart pod-1
}
