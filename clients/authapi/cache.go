package authapi

import (
	"container/list"
	"slices"
	"sync"
	"time"

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

type cacheEntry struct {
	key     cacheKey
	answer  answer
	expires time.Time
}

// answerCache is a least-recently-used cache of answers, bounded to max
// entries, safe for concurrent use. Expired entries are dropped when met.
type answerCache struct {
	mu      sync.Mutex
	max     int
	order   *list.List // front is the most recently used; values are *cacheEntry
	entries map[cacheKey]*list.Element
}

func newAnswerCache(maxEntries int) *answerCache {
	return &answerCache{
		max:     maxEntries,
		order:   list.New(),
		entries: make(map[cacheKey]*list.Element),
	}
}

// get returns the answer cached for key if it is still fresh at now.
func (c *answerCache) get(key cacheKey, now time.Time) (answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return answer{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, key)
		return answer{}, false
	}
	c.order.MoveToFront(el)
	return e.answer.clone(), true
}

// put stores an answer until expires, evicting the least recently used
// entries beyond the bound.
func (c *answerCache) put(key cacheKey, a answer, expires time.Time) {
	a = a.clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		e.answer, e.expires = a, expires
		c.order.MoveToFront(el)
		return
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, answer: a, expires: expires})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
}

func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// keys lists the cached keys, most recently used first; tests use it to see
// what the cache holds.
func (c *answerCache) keys() []cacheKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]cacheKey, 0, c.order.Len())
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*cacheEntry).key)
	}
	return out
}

// clone copies the roles so no caller can change what the cache holds.
func (a answer) clone() answer {
	a.principal.Roles = slices.Clone(a.principal.Roles)
	return a
}
