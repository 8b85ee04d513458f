package aiadmin

import (
	"context"
	"iter"
)

// PageSize is the limit the iterators ask for: the largest the API allows,
// so a walk takes as few requests as it can.
const PageSize = 100

// Pods walks every pod of the fleet, page by page, fetching a page only when
// the previous one is used up. Breaking out of the loop stops it; nothing
// more is fetched. A failed page yields its error once and ends the walk.
// A pod that moves to a later page while the walk runs (the fleet changed)
// is yielded only once.
func (c *Client) Pods(ctx context.Context) iter.Seq2[Pod, error] {
	return walk(func(page int) ([]Pod, int64, error) {
		l, err := c.ListPods(ctx, page, PageSize)
		if err != nil {
			return nil, 0, err
		}
		return l.Pods, l.Total, nil
	}, func(p Pod) string { return p.Id })
}

// Servers walks every inference server of every provider, as Pods walks
// pods. A server is yielded once per provider and URL.
func (c *Client) Servers(ctx context.Context) iter.Seq2[Server, error] {
	return walk(func(page int) ([]Server, int64, error) {
		l, err := c.ListServers(ctx, page, PageSize)
		if err != nil {
			return nil, 0, err
		}
		return l.Servers, l.Total, nil
	}, func(s Server) string { return string(s.Provider) + " " + s.Url })
}

// RegistryURLs walks every backend URL registered for a model, in
// lexicographic order, as Pods walks pods.
func (c *Client) RegistryURLs(ctx context.Context, modelID string) iter.Seq2[string, error] {
	return walk(func(page int) ([]string, int64, error) {
		r, err := c.GetRegistry(ctx, modelID, page, PageSize)
		if err != nil {
			return nil, 0, err
		}
		return r.Urls, r.Total, nil
	}, func(u string) string { return u })
}

// walk yields the items of page after page until a short page, a page that
// reaches the total, or the caller stops. key identifies an item, so that
// one pushed onto the next page by an insertion is not yielded twice.
func walk[T any](fetch func(page int) ([]T, int64, error), key func(T) string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := map[string]struct{}{}
		for page := 1; ; page++ {
			items, total, err := fetch(page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				k := key(it)
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
				if !yield(it, nil) {
					return
				}
			}
			if len(items) < PageSize || int64(page)*PageSize >= total {
				return
			}
		}
	}
}
