package fleet

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/valkey-io/valkey-go"
)

// Server is one registered inference server: who runs it, where it answers,
// and the models it serves, sorted.
type Server struct {
	Provider string
	URL      string
	Models   []string
}

// registerScript replaces the model set of one server and keeps the model
// index in step, atomically.
//
// KEYS[1] servers of the provider, KEYS[2] models of this server,
// KEYS[3..] models of the same URL under the other providers.
// ARGV[1] url, ARGV[2] model key prefix, ARGV[3] "1" to deregister,
// ARGV[4..] the new models.
//
// A URL leaves a model's index only when no provider still serves the model
// there. Model keys are built from the prefix because the old models are only
// known by reading them; they carry the registry hash tag like KEYS.
var registerScript = valkey.NewLuaScript(`
local url = ARGV[1]
local prefix = ARGV[2]
local new = {}
for i = 4, #ARGV do new[ARGV[i]] = true end
local old = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, m in ipairs(old) do
  if not new[m] then
    redis.call('ZREM', KEYS[2], m)
    local elsewhere = false
    for k = 3, #KEYS do
      if redis.call('ZSCORE', KEYS[k], m) then elsewhere = true end
    end
    if not elsewhere then redis.call('ZREM', prefix .. m, url) end
  end
end
for i = 4, #ARGV do
  redis.call('ZADD', KEYS[2], 0, ARGV[i])
  redis.call('ZADD', prefix .. ARGV[i], 0, url)
end
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], url)
else
  redis.call('ZADD', KEYS[1], 0, url)
end
return 1
`)

// snapshotScript reads every server and its models in one consistent view.
//
// KEYS[i] servers of provider i, ARGV[i] the model key prefix of provider i's
// servers. Returns, per provider, a list of {url, model...}.
var snapshotScript = valkey.NewLuaScript(`
local out = {}
for i = 1, #KEYS do
  local servers = {}
  for _, url in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
    local row = {url}
    for _, m in ipairs(redis.call('ZRANGE', ARGV[i] .. url, 0, -1)) do
      row[#row + 1] = m
    end
    servers[#servers + 1] = row
  end
  out[i] = servers
end
return out
`)

// RegisterServer records that the server at url runs under provider and
// serves exactly models, replacing whatever it served before, atomically.
// Duplicate models are ignored; an empty list registers a server serving
// nothing yet.
func (s *Store) RegisterServer(ctx context.Context, provider, url string, models []string) error {
	if err := s.writeServer(ctx, provider, url, models, false); err != nil {
		return fmt.Errorf("registering server %s: %w", url, err)
	}
	return nil
}

// DeregisterServer removes the server at url from provider, and the URL from
// the index of every model no other provider serves there.
func (s *Store) DeregisterServer(ctx context.Context, provider, url string) error {
	if err := s.writeServer(ctx, provider, url, nil, true); err != nil {
		return fmt.Errorf("deregistering server %s: %w", url, err)
	}
	return nil
}

func (s *Store) writeServer(ctx context.Context, provider, url string, models []string, deregister bool) error {
	if err := checkProvider(provider); err != nil {
		return err
	}
	if err := checkURL(url); err != nil {
		return err
	}
	for _, m := range models {
		if err := checkModel(m); err != nil {
			return err
		}
	}
	keys := []string{RegistryServersKey(provider), RegistryServerModelsKey(provider, url)}
	for _, p := range Providers {
		if p != provider {
			keys = append(keys, RegistryServerModelsKey(p, url))
		}
	}
	flag := "0"
	if deregister {
		flag = "1"
	}
	args := append([]string{url, registryModelPrefix, flag}, models...)
	return registerScript.Exec(ctx, s.c, keys, args).Error()
}

// RegistryPage returns the backend URLs serving modelID from offset, at most
// limit of them, in lexicographic order, and how many there are in all. It
// costs O(log N + limit) whatever the offset; urls is empty, never nil, past
// the end.
func (s *Store) RegistryPage(ctx context.Context, modelID string, offset, limit int64) (urls []string, total int64, err error) {
	if err := checkModel(modelID); err != nil {
		return nil, 0, fmt.Errorf("reading registry page: %w", err)
	}
	if offset < 0 || limit <= 0 {
		return nil, 0, fmt.Errorf("reading registry page of %s (offset %d, limit %d): %w", modelID, offset, limit, ErrInvalidPage)
	}
	stop := offset + limit - 1
	if limit > math.MaxInt64-offset {
		stop = math.MaxInt64
	}
	key := RegistryModelKey(modelID)
	res := s.c.DoMulti(ctx,
		s.c.B().Zcard().Key(key).Build(),
		s.c.B().Zrange().Key(key).Min(strconv.FormatInt(offset, 10)).Max(strconv.FormatInt(stop, 10)).Build(),
	)
	total, err = res[0].AsInt64()
	if err != nil {
		return nil, 0, fmt.Errorf("counting backends of %s: %w", modelID, err)
	}
	urls, err = res[1].AsStrSlice()
	if err != nil {
		return nil, 0, fmt.Errorf("reading backends of %s: %w", modelID, err)
	}
	if urls == nil {
		urls = []string{}
	}
	return urls, total, nil
}

// Servers returns every registered server with its sorted models, ordered by
// provider as in Providers, then by URL, from one consistent snapshot.
func (s *Store) Servers(ctx context.Context) ([]Server, error) {
	keys := make([]string, len(Providers))
	prefixes := make([]string, len(Providers))
	for i, p := range Providers {
		keys[i] = RegistryServersKey(p)
		prefixes[i] = registryServerModelsPrefix(p)
	}
	res, err := snapshotScript.Exec(ctx, s.c, keys, prefixes).ToArray()
	if err != nil {
		return nil, fmt.Errorf("reading servers: %w", err)
	}
	if len(res) != len(Providers) {
		return nil, fmt.Errorf("reading servers: %d provider lists for %d providers", len(res), len(Providers))
	}
	servers := []Server{}
	for i, p := range Providers {
		rows, err := res[i].ToArray()
		if err != nil {
			return nil, fmt.Errorf("reading servers of %s: %w", p, err)
		}
		for _, row := range rows {
			fields, err := row.AsStrSlice()
			if err != nil {
				return nil, fmt.Errorf("reading a server of %s: %w", p, err)
			}
			if len(fields) == 0 {
				return nil, fmt.Errorf("reading a server of %s: empty row", p)
			}
			// fields[1:] of a one-element slice is empty but not nil.
			servers = append(servers, Server{Provider: p, URL: fields[0], Models: fields[1:]})
		}
	}
	return servers, nil
}

// ModelsForURLs returns, for each URL, the sorted models it serves under any
// provider, in one round trip. An unregistered URL gets an empty list.
func (s *Store) ModelsForURLs(ctx context.Context, urls []string) ([][]string, error) {
	out := make([][]string, len(urls))
	if len(urls) == 0 {
		return out, nil
	}
	cmds := make(valkey.Commands, 0, len(urls)*len(Providers))
	for _, u := range urls {
		for _, p := range Providers {
			cmds = append(cmds, s.c.B().Zrange().Key(RegistryServerModelsKey(p, u)).Min("0").Max("-1").Build())
		}
	}
	res := s.c.DoMulti(ctx, cmds...)
	for i, u := range urls {
		models := []string{}
		for j := range Providers {
			ms, err := res[i*len(Providers)+j].AsStrSlice()
			if err != nil {
				return nil, fmt.Errorf("reading models of %s: %w", u, err)
			}
			models = append(models, ms...)
		}
		slices.Sort(models)
		out[i] = slices.Compact(models)
	}
	return out, nil
}

// PublishRefresh announces on RefreshChannel that the registry changed.
func (s *Store) PublishRefresh(ctx context.Context) error {
	if err := s.c.Do(ctx, s.c.B().Publish().Channel(RefreshChannel()).Message("refresh").Build()).Error(); err != nil {
		return fmt.Errorf("publishing registry refresh: %w", err)
	}
	return nil
}
