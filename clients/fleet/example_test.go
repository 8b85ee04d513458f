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

	// A request from user u-42: no pinned backend yet, so pick one from the
	// registry and pin the session to it.
	url, ok, err := store.LookupSession(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b")
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		urls, _, err := store.RegistryPage(ctx, "llama-3.1-8b", 0, 10)
		if err != nil {
			log.Fatal(err)
		}
		url = urls[0]
	}
	if err := store.PinSession(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b", url); err != nil {
		log.Fatal(err)
	}

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

	// The user's next request finds the pinned backend.
	again, ok, err := store.LookupSession(ctx, fleet.ProviderVLLM, "u-42", "llama-3.1-8b")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("routed to", url)
	fmt.Println("in flight during:", during.Inflight, "after:", after.Inflight)
	fmt.Println("requests in 5m:", after.Models[0].ModelID, after.Models[0].Rate5m)
	fmt.Println("pinned:", again, ok)
	// Output:
	// routed to https://pod-1-8000.proxy.runpod.net/v1
	// in flight during: 1 after: 0
	// requests in 5m: llama-3.1-8b 1
	// pinned: https://pod-1-8000.proxy.runpod.net/v1 true
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
