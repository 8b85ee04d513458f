package fleet

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/valkey-io/valkey-go"
)

// BackendState is everything the fleet state holds about one backend URL: the
// models it is registered for, whether a server pool holds it and what the
// prober last found, and how busy it is. The admin API shows it beside each
// pod.
type BackendState struct {
	URL string
	// Models are the models the URL serves under any provider, sorted; empty,
	// never nil, for an unregistered URL.
	Models []string
	// Pooled is true when at least one provider's server pool holds the URL.
	Pooled bool
	// Health is the prober's latest result for the URL; unknown and zeros
	// when it was never probed.
	Health ServerHealth
	// Inflight counts the live leases at the URL, over every model.
	Inflight int64
	// LastUseMs is the epoch ms of the last request started, 0 if none.
	LastUseMs int64
	// Draining is true while the URL is drained (see Store.Drain).
	Draining bool
}

// backendStateCmds is the number of commands that read one URL's state: its
// model set and pool membership under each provider, its health, its live
// leases, its last use and whether it is drained. The per-model rates of the demand window are not
// read: they cost one command per bucket and a pod's summary does not show
// them.
var backendStateCmds = 2*len(Providers) + 4

// BackendStates returns the state of each URL, in order, in one pipelined
// round trip (one per cluster node holding them), so that a page of pods is
// enriched at the cost of a single exchange with the store.
func (s *Store) BackendStates(ctx context.Context, urls []string) ([]BackendState, error) {
	for _, u := range urls {
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("reading backend states: %w", err)
		}
	}
	out := make([]BackendState, len(urls))
	if len(urls) == 0 {
		return out, nil
	}
	nowMs := s.nowMs()
	liveFrom := "(" + strconv.FormatInt(nowMs, 10)
	cmds := make(valkey.Commands, 0, len(urls)*backendStateCmds)
	for _, u := range urls {
		for _, p := range Providers {
			cmds = append(cmds, s.c.B().Zrange().Key(RegistryServerModelsKey(p, u)).Min("0").Max("-1").Build())
		}
		for _, p := range Providers {
			cmds = append(cmds, s.c.B().Zscore().Key(RegistryServersKey(p)).Member(u).Build())
		}
		cmds = append(cmds, s.c.B().Hmget().Key(HealthKey(u)).Field(healthFields...).Build())
		// A lease counts while its expiry is after now, as in DemandMany.
		cmds = append(cmds,
			s.c.B().Zcount().Key(DemandLeasesKey(u)).Min(liveFrom).Max("+inf").Build(),
			s.c.B().Get().Key(DemandLastUseKey(u)).Build(),
			s.c.B().Hexists().Key(DrainsKey()).Field(u).Build(),
		)
	}
	res := s.c.DoMulti(ctx, cmds...)
	for i, u := range urls {
		st, err := decodeBackendState(u, res[i*backendStateCmds:(i+1)*backendStateCmds])
		if err != nil {
			return nil, fmt.Errorf("reading state of %s: %w", u, err)
		}
		out[i] = st
	}
	return out, nil
}

func decodeBackendState(url string, res []valkey.ValkeyResult) (BackendState, error) {
	st := BackendState{URL: url, Models: []string{}}
	n := len(Providers)
	for j := range n {
		ms, err := res[j].AsStrSlice()
		if err != nil {
			return st, fmt.Errorf("models: %w", err)
		}
		st.Models = append(st.Models, ms...)
	}
	slices.Sort(st.Models)
	st.Models = slices.Compact(st.Models)

	for j := range n {
		err := res[n+j].Error()
		switch {
		case valkey.IsValkeyNil(err):
		case err != nil:
			return st, fmt.Errorf("pool membership: %w", err)
		default:
			st.Pooled = true
		}
	}

	vals, err := res[2*n].ToArray()
	if err != nil {
		return st, fmt.Errorf("health: %w", err)
	}
	if len(vals) != len(healthFields) {
		return st, fmt.Errorf("health: %d fields for %d", len(vals), len(healthFields))
	}
	if st.Health, err = decodeHealth(vals); err != nil {
		return st, fmt.Errorf("health: %w", err)
	}

	if st.Inflight, err = res[2*n+1].AsInt64(); err != nil {
		return st, fmt.Errorf("leases: %w", err)
	}
	last, err := res[2*n+2].AsInt64()
	switch {
	case valkey.IsValkeyNil(err):
	case err != nil:
		return st, fmt.Errorf("last use: %w", err)
	default:
		st.LastUseMs = last
	}
	if st.Draining, err = res[2*n+3].AsBool(); err != nil {
		return st, fmt.Errorf("drain: %w", err)
	}
	return st, nil
}
