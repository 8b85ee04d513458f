package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Lease is one request in flight, held from StartRequest to FinishRequest.
// If it is never finished it stops counting at Expires.
type Lease struct {
	ID      string
	URL     string
	ModelID string
	Expires time.Time
}

// Demand is how busy one backend URL is.
type Demand struct {
	URL string
	// Inflight counts the live leases at URL, over every model.
	Inflight int64
	// LastUseMs is the epoch ms of the last request started, 0 if none.
	LastUseMs int64
	// Models holds every model with requests in flight or in the window,
	// sorted by id; empty, never nil, when there are none.
	Models []ModelDemand
}

// ModelDemand is how busy one backend is with one model.
type ModelDemand struct {
	ModelID  string
	Inflight int64
	// Rate5m counts the requests started over the demand window (see
	// DemandWindow).
	Rate5m int64
}

// startScript records a started request atomically: it drops expired leases,
// adds the new one, counts it in the current window bucket and moves the
// last-use time forward (never back, whatever the routers' clocks).
//
// KEYS[1] leases, KEYS[2] last use, KEYS[3] current window bucket.
// ARGV[1] now (epoch ms), ARGV[2] lease expiry (epoch ms), ARGV[3] lease
// member, ARGV[4] model id, ARGV[5] lease TTL ms, ARGV[6] bucket TTL ms,
// ARGV[7] last-use retention ms.
var startScript = valkey.NewLuaScript(startScriptSource)

// startScriptSHA lets StartRequest send the script by its hash in one
// pipeline with the fleet-wide count.
var startScriptSHA = func() string {
	sum := sha1.Sum([]byte(startScriptSource))
	return hex.EncodeToString(sum[:])
}()

const startScriptSource = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local leaseTTL = tonumber(ARGV[5])
if redis.call('PTTL', KEYS[1]) < leaseTTL then redis.call('PEXPIRE', KEYS[1], leaseTTL) end
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
redis.call('PEXPIRE', KEYS[3], ARGV[6])
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if now > last then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[7])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
return 1
`

// StartRequest records a request to modelID starting at url and returns its
// lease, which the caller passes to FinishRequest when the request ends.
func (s *Store) StartRequest(ctx context.Context, url, modelID string) (Lease, error) {
	if err := checkURL(url); err != nil {
		return Lease{}, fmt.Errorf("starting request: %w", err)
	}
	if err := checkModel(modelID); err != nil {
		return Lease{}, fmt.Errorf("starting request: %w", err)
	}
	var id [leaseIDLen / 2]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Lease{}, fmt.Errorf("starting request: making lease id: %w", err)
	}
	now := s.opts.Now()
	l := Lease{
		ID:      hex.EncodeToString(id[:]),
		URL:     url,
		ModelID: modelID,
		Expires: now.Add(s.opts.RequestLease),
	}
	nowMs := now.UnixMilli()
	keys := []string{DemandLeasesKey(url), DemandLastUseKey(url), DemandWindowKey(url, bucketOf(nowMs))}
	args := []string{
		strconv.FormatInt(nowMs, 10),
		strconv.FormatInt(l.Expires.UnixMilli(), 10),
		leaseMember(l.ID, modelID),
		modelID,
		strconv.FormatInt(ms(s.opts.RequestLease), 10),
		// A bucket is read while it is in the window, which ends at most one
		// window after the bucket starts; a further bucket width covers
		// the current bucket's own span.
		strconv.FormatInt(ms(DemandWindow+DemandBucketWidth), 10),
		strconv.FormatInt(ms(s.opts.DemandRetention), 10),
	}
	// The URL's keys share a slot and change together in the script; the
	// fleet-wide bucket lives in another slot, so it is counted by its own
	// commands, sent in the same round trip.
	fleetBucket := DemandFleetWindowKey(bucketOf(nowMs))
	res := s.c.DoMulti(ctx,
		s.c.B().Evalsha().Sha1(startScriptSHA).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build(),
		s.c.B().Incr().Key(fleetBucket).Build(),
		s.c.B().Pexpire().Key(fleetBucket).Milliseconds(ms(DemandWindow+DemandBucketWidth)).Build(),
	)
	err := res[0].Error()
	if ve, ok := valkey.IsValkeyErr(err); ok && ve.IsNoScript() {
		// The server has not seen the script yet: Exec loads and runs it.
		err = startScript.Exec(ctx, s.c, keys, args).Error()
	}
	if err != nil {
		return Lease{}, fmt.Errorf("starting request to %s: %w", url, err)
	}
	for _, r := range res[1:] {
		if err := r.Error(); err != nil {
			return Lease{}, fmt.Errorf("counting request to %s in the fleet's window: %w", url, err)
		}
	}
	return l, nil
}

// FinishRequest ends the request holding l. Finishing a lease that already
// expired or finished does nothing.
func (s *Store) FinishRequest(ctx context.Context, l Lease) error {
	if len(l.ID) != leaseIDLen || l.URL == "" || l.ModelID == "" {
		return fmt.Errorf("finishing request: %w", ErrInvalidLease)
	}
	cmd := s.c.B().Zrem().Key(DemandLeasesKey(l.URL)).Member(leaseMember(l.ID, l.ModelID)).Build()
	if err := s.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("finishing request to %s: %w", l.URL, err)
	}
	return nil
}

// Demand returns how busy url is, in one round trip whatever the number of
// models. An unknown URL has zeros and no models.
func (s *Store) Demand(ctx context.Context, url string) (Demand, error) {
	ds, err := s.DemandMany(ctx, []string{url})
	if err != nil {
		return Demand{}, err
	}
	return ds[0], nil
}

// demandCmds is the fixed number of commands that read one URL's demand: the
// live leases, the last use and every bucket of the window.
const demandCmds = 2 + DemandWindowBuckets

// DemandMany returns the demand of each URL, in order, in one pipelined round
// trip (one per cluster node holding them).
func (s *Store) DemandMany(ctx context.Context, urls []string) ([]Demand, error) {
	for _, u := range urls {
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("reading demand: %w", err)
		}
	}
	out := make([]Demand, len(urls))
	if len(urls) == 0 {
		return out, nil
	}
	nowMs := s.nowMs()
	// A lease counts while its expiry is after now.
	liveFrom := "(" + strconv.FormatInt(nowMs, 10)
	current := bucketOf(nowMs)
	cmds := make(valkey.Commands, 0, len(urls)*demandCmds)
	for _, u := range urls {
		cmds = append(cmds,
			s.c.B().Zrangebyscore().Key(DemandLeasesKey(u)).Min(liveFrom).Max("+inf").Build(),
			s.c.B().Get().Key(DemandLastUseKey(u)).Build(),
		)
		for b := current - DemandWindowBuckets + 1; b <= current; b++ {
			cmds = append(cmds, s.c.B().Hgetall().Key(DemandWindowKey(u, b)).Build())
		}
	}
	res := s.c.DoMulti(ctx, cmds...)
	for i, u := range urls {
		d, err := decodeDemand(u, res[i*demandCmds:(i+1)*demandCmds])
		if err != nil {
			return nil, fmt.Errorf("reading demand of %s: %w", u, err)
		}
		out[i] = d
	}
	return out, nil
}

func decodeDemand(url string, res []valkey.ValkeyResult) (Demand, error) {
	d := Demand{URL: url, Models: []ModelDemand{}}
	byModel := map[string]*ModelDemand{}
	model := func(id string) *ModelDemand {
		m, ok := byModel[id]
		if !ok {
			m = &ModelDemand{ModelID: id}
			byModel[id] = m
		}
		return m
	}

	leases, err := res[0].AsStrSlice()
	if err != nil {
		return Demand{}, fmt.Errorf("leases: %w", err)
	}
	for _, member := range leases {
		id, ok := leaseModel(member)
		if !ok {
			continue
		}
		model(id).Inflight++
		d.Inflight++
	}

	last, err := res[1].AsInt64()
	switch {
	case valkey.IsValkeyNil(err):
	case err != nil:
		return Demand{}, fmt.Errorf("last use: %w", err)
	default:
		d.LastUseMs = last
	}

	for _, r := range res[2:] {
		counts, err := r.AsIntMap()
		if err != nil {
			return Demand{}, fmt.Errorf("window: %w", err)
		}
		for id, n := range counts {
			model(id).Rate5m += n
		}
	}

	for _, m := range byModel {
		d.Models = append(d.Models, *m)
	}
	slices.SortFunc(d.Models, func(a, b ModelDemand) int { return strings.Compare(a.ModelID, b.ModelID) })
	return d, nil
}

// DemandTotals is the demand of many servers taken together, for a summary
// of the fleet.
type DemandTotals struct {
	// Inflight counts the live leases at every URL.
	Inflight int64
	// Requests5m counts the requests started anywhere in the fleet over the
	// demand window (see DemandWindow), from the fleet-wide window kept by
	// StartRequest: it does not depend on the URLs asked about.
	Requests5m int64
	// LastUseMs maps each URL to the epoch ms of its last request start, 0
	// for none.
	LastUseMs map[string]int64
}

// fleetDemandCmds is the fixed number of commands that read one URL for
// FleetDemand: its live lease count and its last use.
const fleetDemandCmds = 2

// FleetDemand adds up the demand of every URL (each counted once, however
// often it is listed) and the fleet's requests over the window, in one
// pipelined round trip (one per cluster node holding them), whatever the
// number of URLs. It reads counts only: per URL, ZCOUNT of the live leases
// and GET of the last use; once, GET of each bucket of the fleet-wide window.
func (s *Store) FleetDemand(ctx context.Context, urls []string) (DemandTotals, error) {
	t := DemandTotals{LastUseMs: make(map[string]int64, len(urls))}
	var uniq []string
	for _, u := range urls {
		if err := checkURL(u); err != nil {
			return DemandTotals{}, fmt.Errorf("reading fleet demand: %w", err)
		}
		if _, dup := t.LastUseMs[u]; !dup {
			t.LastUseMs[u] = 0
			uniq = append(uniq, u)
		}
	}
	nowMs := s.nowMs()
	liveFrom := "(" + strconv.FormatInt(nowMs, 10)
	current := bucketOf(nowMs)
	cmds := make(valkey.Commands, 0, len(uniq)*fleetDemandCmds+DemandWindowBuckets)
	for b := current - DemandWindowBuckets + 1; b <= current; b++ {
		cmds = append(cmds, s.c.B().Get().Key(DemandFleetWindowKey(b)).Build())
	}
	for _, u := range uniq {
		cmds = append(cmds,
			s.c.B().Zcount().Key(DemandLeasesKey(u)).Min(liveFrom).Max("+inf").Build(),
			s.c.B().Get().Key(DemandLastUseKey(u)).Build(),
		)
	}
	res := s.c.DoMulti(ctx, cmds...)
	for _, r := range res[:DemandWindowBuckets] {
		n, err := r.AsInt64()
		switch {
		case valkey.IsValkeyNil(err):
		case err != nil:
			return DemandTotals{}, fmt.Errorf("reading the fleet's window: %w", err)
		default:
			t.Requests5m += n
		}
	}
	res = res[DemandWindowBuckets:]
	for i, u := range uniq {
		if err := t.add(u, res[i*fleetDemandCmds:(i+1)*fleetDemandCmds]); err != nil {
			return DemandTotals{}, fmt.Errorf("reading fleet demand of %s: %w", u, err)
		}
	}
	return t, nil
}

func (t *DemandTotals) add(url string, res []valkey.ValkeyResult) error {
	n, err := res[0].AsInt64()
	if err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	t.Inflight += n
	last, err := res[1].AsInt64()
	switch {
	case valkey.IsValkeyNil(err):
	case err != nil:
		return fmt.Errorf("last use: %w", err)
	default:
		t.LastUseMs[url] = last
	}
	return nil
}

// bucketOf returns the window bucket holding the epoch ms t.
func bucketOf(t int64) int64 {
	return t / DemandBucketWidth.Milliseconds()
}
