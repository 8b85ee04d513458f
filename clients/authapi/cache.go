package authapi

import (
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/threatwinds/aiadmin/clients/auth"
)

// cacheKey is the SHA-256 hash of a credential; the credential itself is
// never kept.
type cacheKey [32]byte

// answer is what the Auth API said about one credential: a principal, or
// ErrInvalidCredentials (wrapped). ErrUnavailable is never an answer.
type answer struct {
	principal auth.Principal
	err       error
}

// cacheEntry is an answer and the moment it stops being trusted.
type cacheEntry struct {
	answer  answer
	expires time.Time
}

// answerCache is a least-recently-used cache of answers, bounded to max
// entries, safe for concurrent use. Expired entries are dropped when met.
//
// The expirable LRU of golang-lru does not fit: it gives every entry one
// TTL, where an answer lives for the positive TTL, the negative TTL or up to
// the credential's own expiry; it reads time.Now, where tests need the
// injected clock; and it starts a cleaning goroutine nothing can stop. So
// the expiry travels in the value and is checked against the injected clock,
// and the library's plain LRU keeps the bound. That LRU is the one without
// its own lock: mu makes "look, find it expired, drop it" one step, so a
// fresh answer stored meanwhile is never the one dropped.
type answerCache struct {
	mu  sync.Mutex
	lru *simplelru.LRU[cacheKey, cacheEntry]
}

func newAnswerCache(maxEntries int) *answerCache {
	l, err := simplelru.NewLRU[cacheKey, cacheEntry](maxEntries, nil)
	if err != nil {
		// New never passes a size below one.
		panic("authapi: " + err.Error())
	}
	return &answerCache{lru: l}
}

// get returns the answer cached for key if it is still fresh at now.
func (c *answerCache) get(key cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	if !ok {
		return answer{}, false
	}
	if !now.Before(e.expires) {
		c.lru.Remove(key)
		return answer{}, false
	}
	return e.answer.clone(), true
}

// put stores an answer until expires, evicting the least recently used
// entries beyond the bound.
func (c *answerCache) put(key cacheKey, a answer, expires time.Time) {
	e := cacheEntry{answer: a.clone(), expires: expires}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(key, e)
}

func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// keys lists the cached keys; tests use it to see what the cache holds.
func (c *answerCache) keys() []cacheKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Keys()
}

// clone copies the roles so no caller can change what the cache holds.
func (a answer) clone() answer {
	a.principal.Roles = slices.Clone(a.principal.Roles)
	return a
}
