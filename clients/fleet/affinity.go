package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valkey-io/valkey-go"
)

// ProviderAffinity is one provider's affinity counters and its session TTL.
type ProviderAffinity struct {
	Name      string
	Hits      int64
	Misses    int64
	Fallbacks int64
	TTL       time.Duration
}

// pinScript pins one session, drops the user's expired pins and makes the
// hash live at least as long as the new pin.
//
// KEYS[1] the user's affinity hash. ARGV[1] now (epoch ms), ARGV[2] field,
// ARGV[3] value, ARGV[4] TTL in ms.
var pinScript = valkey.NewLuaScript(`
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local exp = tonumber(string.match(all[i + 1], '^(%d+):'))
  if exp == nil or exp <= now then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local ttl = tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`)

// clearScript deletes a user's pins, all of them or the named fields, and
// returns how many of them were live.
//
// KEYS[1] the user's affinity hash. ARGV[1] now (epoch ms), ARGV[2..] the
// fields to clear; none means every field.
var clearScript = valkey.NewLuaScript(`
local now = tonumber(ARGV[1])
local live = 0
local function count(v)
  local exp = tonumber(string.match(v, '^(%d+):'))
  if exp ~= nil and exp > now then live = live + 1 end
end
if #ARGV == 1 then
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do count(v) end
  redis.call('DEL', KEYS[1])
else
  for i = 2, #ARGV do
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    if v then
      count(v)
      redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
return live
`)

// PinSession pins userID's session with modelID on provider to url for the
// provider's TTL, replacing any earlier pin. The router re-pins on every
// routed request, so an active session never expires.
func (s *Store) PinSession(ctx context.Context, provider, userID, modelID, url string) error {
	if err := checkSession(provider, userID, modelID); err != nil {
		return fmt.Errorf("pinning session: %w", err)
	}
	if err := checkURL(url); err != nil {
		return fmt.Errorf("pinning session: %w", err)
	}
	ttl := s.AffinityTTLFor(provider)
	now := s.nowMs()
	args := []string{
		strconv.FormatInt(now, 10),
		affinityField(provider, modelID),
		affinityValue(now+ms(ttl), url),
		strconv.FormatInt(ms(ttl), 10),
	}
	if err := pinScript.Exec(ctx, s.c, []string{AffinityKey(userID)}, args).Error(); err != nil {
		return fmt.Errorf("pinning session of %s to %s: %w", userID, url, err)
	}
	return nil
}

// Session is one live pin of a user's session: the backend the user's
// requests to a model on a provider go to, until ExpiresAt unless re-pinned.
type Session struct {
	Provider  string
	ModelID   string
	URL       string
	ExpiresAt time.Time
}

// LookupSession returns the URL userID's session with modelID on provider is
// pinned to, if a live pin exists. It counts nothing: a router records what
// became of the request with RecordOutcome, or routes through Router.Route,
// which does both.
func (s *Store) LookupSession(ctx context.Context, provider, userID, modelID string) (url string, ok bool, err error) {
	if err := checkSession(provider, userID, modelID); err != nil {
		return "", false, fmt.Errorf("looking up session: %w", err)
	}
	v, err := s.c.Do(ctx, s.c.B().Hget().Key(AffinityKey(userID)).Field(affinityField(provider, modelID)).Build()).ToString()
	if valkey.IsValkeyNil(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("looking up session of %s: %w", userID, err)
	}
	if exp, u, valid := parseAffinityValue(v); valid && exp > s.nowMs() {
		return u, true, nil
	}
	return "", false, nil
}

// UserSessions returns userID's live pins, sorted by provider name and then
// model id, from one read of the user's affinity hash. Expired pins, and
// fields no writer of this schema makes, are left out; a user without pins
// gets an empty slice, never nil.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]Session, error) {
	if err := checkUser(userID); err != nil {
		return nil, fmt.Errorf("reading sessions: %w", err)
	}
	pins, err := s.c.Do(ctx, s.c.B().Hgetall().Key(AffinityKey(userID)).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("reading sessions of %s: %w", userID, err)
	}
	now := s.nowMs()
	out := make([]Session, 0, len(pins))
	for f, v := range pins {
		provider, model, ok := parseAffinityField(f)
		if !ok || checkProvider(provider) != nil || model == "" {
			continue
		}
		exp, url, ok := parseAffinityValue(v)
		if !ok || exp <= now {
			continue
		}
		out = append(out, Session{Provider: provider, ModelID: model, URL: url, ExpiresAt: time.UnixMilli(exp).UTC()})
	}
	slices.SortFunc(out, func(a, b Session) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.ModelID, b.ModelID))
	})
	return out, nil
}

// RecordOutcome counts o for provider: one call for each routed request,
// after the router has decided it. Router.Route calls it itself.
func (s *Store) RecordOutcome(ctx context.Context, provider string, o Outcome) error {
	if err := checkProvider(provider); err != nil {
		return fmt.Errorf("recording affinity outcome: %w", err)
	}
	counter, ok := o.counter()
	if !ok {
		return fmt.Errorf("recording affinity outcome %d: %w", int(o), ErrInvalidOutcome)
	}
	cmd := s.c.B().Hincrby().Key(AffinityStatsKey()).Field(affinityStatsField(provider, counter)).Increment(1).Build()
	if err := s.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("recording affinity outcome %s: %w", o, err)
	}
	return nil
}

// AffinityMetrics returns the counters and TTL of every provider, in the
// order of Providers, with zeros for a provider never counted.
func (s *Store) AffinityMetrics(ctx context.Context) ([]ProviderAffinity, error) {
	stats, err := s.c.Do(ctx, s.c.B().Hgetall().Key(AffinityStatsKey()).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("reading affinity metrics: %w", err)
	}
	out := make([]ProviderAffinity, 0, len(Providers))
	for _, p := range Providers {
		pa := ProviderAffinity{Name: p, TTL: s.AffinityTTLFor(p)}
		for counter, dst := range map[string]*int64{statHits: &pa.Hits, statMisses: &pa.Misses, statFallbacks: &pa.Fallbacks} {
			v, ok := stats[affinityStatsField(p, counter)]
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("reading affinity metrics: %s %s: %w", p, counter, err)
			}
			*dst = n
		}
		out = append(out, pa)
	}
	return out, nil
}

// ClearAffinity deletes userID's pins on every provider: all of them when
// modelID is nil, else those for *modelID. It is atomic, costs O(the user's
// pins), and returns how many of the deleted pins were live.
func (s *Store) ClearAffinity(ctx context.Context, userID string, modelID *string) (cleared int64, err error) {
	if err := checkUser(userID); err != nil {
		return 0, fmt.Errorf("clearing affinity: %w", err)
	}
	args := []string{strconv.FormatInt(s.nowMs(), 10)}
	if modelID != nil {
		if err := checkModel(*modelID); err != nil {
			return 0, fmt.Errorf("clearing affinity: %w", err)
		}
		for _, p := range Providers {
			args = append(args, affinityField(p, *modelID))
		}
	}
	cleared, err = clearScript.Exec(ctx, s.c, []string{AffinityKey(userID)}, args).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("clearing affinity of %s: %w", userID, err)
	}
	return cleared, nil
}

func checkSession(provider, userID, modelID string) error {
	return errors.Join(checkProvider(provider), checkUser(userID), checkModel(modelID))
}
