package aiadmin_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// A drained server keeps its requests but gets no new sessions until it is
// undrained; ListServers shows the drain and its reason.
func ExampleClient_DrainServer() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	servers, err := c.ListServers(ctx, 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	url := servers.Servers[0].Url
	drained, err := c.DrainServer(ctx, url, "kernel upgrade")
	if err != nil {
		log.Fatal(err)
	}
	page, err := c.ListServers(ctx, 1, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("draining:", drained.Draining, "reason:", page.Servers[0].DrainReason)

	undrained, err := c.UndrainServer(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("draining:", undrained.Draining)

	_, err = c.DrainServer(ctx, "https://no-such-server.invalid/v1", "")
	fmt.Println("unknown server:", aiadmin.IsNotFound(err))
	// Output:
	// draining: true reason: kernel upgrade
	// draining: false
	// unknown server: true
}

// A user's live pins say which backend each of their sessions lands on; a
// user without any has an empty list.
func ExampleClient_GetUserSessions() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	// The demo fleet always pins usr_abc123.
	us, err := c.GetUserSessions(ctx, "usr_abc123")
	if err != nil {
		log.Fatal(err)
	}
	live := true
	for _, s := range us.Sessions {
		live = live && s.ExpiresAt.After(time.Now()) && s.Url != ""
	}
	fmt.Println(us.UserId, "has sessions:", len(us.Sessions) > 0, "all live:", live)

	none, err := c.GetUserSessions(ctx, "usr_nobody")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(none.UserId, len(none.Sessions))
	// Output:
	// usr_abc123 has sessions: true all live: true
	// usr_nobody 0
}

// ListAudit reads one page of the trail, newest first; its Next is the
// before of the following page.
func ExampleClient_ListAudit() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	for _, user := range []string{"usr_first", "usr_second"} {
		if _, err := c.ClearAffinity(ctx, user, ""); err != nil {
			log.Fatal(err)
		}
	}
	newest, err := c.ListAudit(ctx, "", 1)
	if err != nil {
		log.Fatal(err)
	}
	older, err := c.ListAudit(ctx, newest.Next, 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range append(newest.Entries, older.Entries...) {
		fmt.Println(e.Action, e.Target, e.UserId)
	}
	// Output:
	// affinity.clear usr_second usr_admin
	// affinity.clear usr_first usr_admin
}

// Audit walks the whole trail, newest first, fetching pages as the loop
// needs them.
func ExampleClient_Audit() {
	ctx := context.Background()
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.RefreshRegistry(ctx); err != nil {
		log.Fatal(err)
	}
	refreshes := 0
	for e, err := range c.Audit(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		if e.Action == "registry.refresh" {
			refreshes++
		}
	}
	fmt.Println("refreshes audited:", refreshes > 0)
	// Output: refreshes audited: true
}

// The fleet summary answers "what are we paying, and for how much idle".
func ExampleClient_GetFleetSummary() {
	c, err := aiadmin.New(os.Getenv("AIADMIN_URL"), aiadmin.WithToken(os.Getenv("AIADMIN_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.GetFleetSummary(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, p := range s.Providers {
		names = append(names, p.Name)
	}
	fmt.Println("providers:", names)
	fmt.Println("pods counted:", s.Pods.Total > 0, "running:", s.Pods.ByStatus["RUNNING"] > 0)
	fmt.Println("idle after", s.Idle.IdleAfterMinutes, "minutes; idle cost within the total:", s.Idle.CostPerHr <= s.CostPerHr)
	// Output:
	// providers: [vllm sglang speaches]
	// pods counted: true running: true
	// idle after 15 minutes; idle cost within the total: true
}
