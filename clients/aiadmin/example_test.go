package aiadmin_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// This is the README's program: it walks every pod of the fleet and shows
// how a refusal reads. The server's address and token come from the
// environment, as for aiadminctl.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The base URL is scheme and host only: the SDK appends /api/ai/v1/admin.
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}

	// One page gives the fleet's total; the iterator fetches every page.
	first, err := c.ListPods(ctx, 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	seen, running := 0, 0
	for pod, err := range c.Pods(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		seen++
		if pod.DesiredStatus == "RUNNING" {
			running++
		}
	}
	fmt.Println("every pod seen:", seen == int(first.Total), "some running:", running > 0)

	// Every answer outside 2xx is an *aiadmin.APIError.
	_, err = c.GetPod(ctx, "nosuchpod")
	var apiErr *aiadmin.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Message, "error id given:", apiErr.ErrorID != "")
	}
	fmt.Println("not found:", aiadmin.IsNotFound(err))
	// Output:
	// every pod seen: true some running: true
	// 404 pod not found error id given: true
	// not found: true
}

// A key pair authenticates like a token; the SDK sends it in the api-key
// and api-secret headers.
func ExampleWithKeyPair() {
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"),
		aiadmin.WithKeyPair(os.Getenv("AIADMIN_API_KEY"), os.Getenv("AIADMIN_API_SECRET")),
		aiadmin.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	m, err := c.GetAffinityMetrics(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range m.Providers {
		fmt.Println(p.Name, "ttl", p.TtlMinutes, "min")
	}
	// Output:
	// vllm ttl 30 min
	// sglang ttl 30 min
	// speaches ttl 30 min
}

// Predicates answer the questions callers branch on; errors.As gives the
// status, message, detail and error id of any refusal.
func ExampleAPIError() {
	ctx := context.Background()
	wrong, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken("not-a-valid-token"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = wrong.ListServers(ctx, 1, 10)
	fmt.Println("unauthorized:", aiadmin.IsUnauthorized(err))

	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.ListServers(ctx, 1, 1000)
	var apiErr *aiadmin.APIError
	if errors.As(err, &apiErr) {
		fmt.Printf("%d %s: %s\n", apiErr.Status, apiErr.Message, apiErr.Detail)
	}
	// Output:
	// unauthorized: true
	// 400 invalid query parameter limit: must be an integer from 1 to 100
}

// The iterators fetch page after page as the loop needs them; breaking out
// stops the walk without fetching more.
func ExampleClient_Servers() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	providers := map[aiadmin.ServerProvider]bool{}
	for s, err := range c.Servers(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		providers[s.Provider] = true
		if len(providers) == 3 {
			break
		}
	}
	fmt.Println(len(providers), "providers")
	// Output: 3 providers
}

// RegistryURLs walks a model's registry, however large, in lexicographic
// order.
func ExampleClient_RegistryURLs() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	servers, err := c.ListServers(ctx, 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	model := servers.Servers[0].Models[0]
	prev, sorted, n := "", true, 0
	for u, err := range c.RegistryURLs(ctx, model) {
		if err != nil {
			log.Fatal(err)
		}
		sorted = sorted && prev < u
		prev = u
		n++
	}
	page, err := c.GetRegistry(ctx, model, 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("all URLs:", n == int(page.Total), "in order:", sorted)
	// Output: all URLs: true in order: true
}

// Reads are retried on 503 and connection errors, with backoff or after the
// server's Retry-After; WithRetries sets how often. Writes are sent once.
func ExampleWithRetries() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")),
		aiadmin.WithRetries(6, 100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	d, err := c.GetPodDemand(ctx, "https://unknown.example/v1")
	switch {
	case aiadmin.IsUnavailable(err):
		fmt.Println("still unavailable after 6 attempts")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(d.Url, d.Inflight, len(d.Models))
	}
	// Output: https://unknown.example/v1 0 0
}

// Writes take plain values; an empty model id clears every model of the
// user.
func ExampleClient_ClearAffinity() {
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.ClearAffinity(context.Background(), "usr_nobody", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.UserId, res.Cleared)
	// Output: usr_nobody 0
}

// A refresh answers at once; every replica rebuilds its tables after.
func ExampleClient_RefreshRegistry() {
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.RefreshRegistry(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status)
	// Output: triggered
}

// A restart is sent once; a RunPod failure is an *APIError with FailedAt.
func ExampleClient_RestartPod() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	pods, err := c.ListPods(ctx, 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.RestartPod(ctx, pods.Pods[0].Id)
	var apiErr *aiadmin.APIError
	if errors.As(err, &apiErr) && apiErr.FailedAt != "" {
		fmt.Println("RunPod failed the", apiErr.FailedAt)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.PodId == pods.Pods[0].Id)
	// Output: initiated true
}
