package rig

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"
	"golang.org/x/sync/errgroup"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// FleetSpec is the fleet state a load run reads: registered servers with
// their health, one model with a very large registry, users with pinned
// sessions, demand on some pods, drains, affinity counters and an audit
// trail.
type FleetSpec struct {
	// ServerURLs are registered, in turn as vllm, sglang and speaches
	// servers, each serving BigModel and one of a few other models, and
	// recorded healthy.
	ServerURLs []string
	// BigModel is a model whose registry holds BigModelURLs URLs: the
	// servers' and synthetic ones beyond them, written straight to the
	// model's index (registering that many servers would make them all
	// part of the pool).
	BigModel     string
	BigModelURLs int
	// Users each have a session pinned to a server on one or two models.
	Users int
	// DemandURLs have requests in flight and finished in the last minutes.
	DemandURLs []string
	// Drained servers are drained, the first of ServerURLs.
	Drained int
	// AuditEntries are appended to the audit trail.
	AuditEntries int
	// Concurrency is how many writes are in flight at once; the client
	// pipelines concurrent commands on its connection. Zero means 128.
	Concurrency int
}

// Seeded names what Seed wrote, for the requests of a load run.
type Seeded struct {
	// Users are the users' ids, in order.
	Users []string
	// PinnedModels are the models users are pinned on.
	PinnedModels []string
}

// seedModels are the models servers serve besides BigModel.
var seedModels = []string{"qwen-27b", "qwen-35b", "llama-70b", "whisper"}

// UserID is the id of the i-th seeded user.
func UserID(i int) string { return fmt.Sprintf("usr_bench_%06d", i) }

// Seed writes spec's fleet state through the fleet store's writers, many at
// once. It is meant for an empty store.
func Seed(ctx context.Context, client valkey.Client, store *fleet.Store, spec FleetSpec) (Seeded, error) {
	conc := spec.Concurrency
	if conc <= 0 {
		conc = 128
	}
	n := len(spec.ServerURLs)
	if n == 0 {
		return Seeded{}, fmt.Errorf("seeding: no servers")
	}
	up := true
	each := func(count int, fn func(ctx context.Context, i int) error) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(conc)
		for i := range count {
			g.Go(func() error { return fn(gctx, i) })
		}
		return g.Wait()
	}
	if err := each(n, func(ctx context.Context, i int) error {
		u := spec.ServerURLs[i]
		if err := store.RegisterServer(ctx, fleet.Providers[i%len(fleet.Providers)], u, []string{spec.BigModel, seedModels[i%len(seedModels)]}); err != nil {
			return err
		}
		return store.RecordHealth(ctx, u, fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 2, LastCheckMs: time.Now().UnixMilli()})
	}); err != nil {
		return Seeded{}, fmt.Errorf("seeding servers: %w", err)
	}
	if err := seedBigModel(ctx, client, spec); err != nil {
		return Seeded{}, err
	}
	out := Seeded{Users: make([]string, spec.Users), PinnedModels: []string{spec.BigModel, seedModels[0]}}
	if err := each(spec.Users, func(ctx context.Context, i int) error {
		out.Users[i] = UserID(i)
		for k, model := range out.PinnedModels[:1+i%2] {
			if err := store.PinSession(ctx, fleet.Providers[(i+k)%len(fleet.Providers)], out.Users[i], model, spec.ServerURLs[(i+k)%n]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return Seeded{}, fmt.Errorf("seeding sessions: %w", err)
	}
	if err := each(len(spec.DemandURLs), func(ctx context.Context, i int) error {
		u := spec.DemandURLs[i]
		for k := range 1 + i%4 {
			l, err := store.StartRequest(ctx, u, seedModels[k%len(seedModels)])
			if err != nil {
				return err
			}
			if k%2 == 1 {
				if err := store.FinishRequest(ctx, l); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return Seeded{}, fmt.Errorf("seeding demand: %w", err)
	}
	if err := each(min(spec.Drained, n), func(ctx context.Context, i int) error {
		return store.Drain(ctx, spec.ServerURLs[i], "load run: drained "+strconv.Itoa(i))
	}); err != nil {
		return Seeded{}, fmt.Errorf("seeding drains: %w", err)
	}
	outcomes := []fleet.Outcome{fleet.OutcomeHit, fleet.OutcomeHit, fleet.OutcomeHit, fleet.OutcomeMiss, fleet.OutcomeFallback}
	if err := each(300, func(ctx context.Context, i int) error {
		return store.RecordOutcome(ctx, fleet.Providers[i%len(fleet.Providers)], outcomes[i%len(outcomes)])
	}); err != nil {
		return Seeded{}, fmt.Errorf("seeding affinity counters: %w", err)
	}
	// The audit trail is appended in order: its ids grow with arrival.
	for i := range spec.AuditEntries {
		e := fleet.AuditEntry{UserID: UserID(i % max(spec.Users, 1)), Action: "pod.restart", Target: "pod" + strconv.Itoa(i), Outcome: "initiated"}
		if err := store.AppendAudit(ctx, e, int64(spec.AuditEntries)); err != nil {
			return Seeded{}, fmt.Errorf("seeding the audit trail: %w", err)
		}
	}
	return out, nil
}

// seedBigModel fills BigModel's registry index up to BigModelURLs with
// synthetic URLs, a thousand per command.
func seedBigModel(ctx context.Context, client valkey.Client, spec FleetSpec) error {
	key := fleet.RegistryModelKey(spec.BigModel)
	const batch = 1000
	var cmds valkey.Commands
	for start := len(spec.ServerURLs); start < spec.BigModelURLs; start += batch {
		z := client.B().Zadd().Key(key).ScoreMember()
		for i := start; i < min(start+batch, spec.BigModelURLs); i++ {
			z = z.ScoreMember(0, fmt.Sprintf("http://10.%d.%d.%d:8000/v1", i>>16&0xff, i>>8&0xff, i&0xff))
		}
		cmds = append(cmds, z.Build())
	}
	for _, res := range client.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			return fmt.Errorf("seeding the registry of %s: %w", spec.BigModel, err)
		}
	}
	return nil
}
