package pool

import (
	"context"
	"errors"
	"fmt"
)

// ErrServerNotFound means a URL is in no provider's server pool.
var ErrServerNotFound = errors.New("server not found")

// DrainStore keeps drains as fleet state; *fleet.Store implements it.
type DrainStore interface {
	ServerKnown(ctx context.Context, url string) (bool, error)
	Drain(ctx context.Context, url, reason string) error
	Undrain(ctx context.Context, url string) error
}

// Drains takes servers of the pool out of rotation and puts them back. A
// drain is fleet state: every replica and router sees it through the
// refresh channel, and it lasts until undrained.
type Drains struct {
	store DrainStore
}

// NewDrains returns the drain control over store.
func NewDrains(store DrainStore) *Drains { return &Drains{store: store} }

// Drain marks url draining with reason; draining a drained server again
// replaces its reason. A URL in no pool is ErrServerNotFound.
func (d *Drains) Drain(ctx context.Context, url, reason string) error {
	if err := d.known(ctx, url); err != nil {
		return err
	}
	return d.store.Drain(ctx, url, reason)
}

// Undrain ends url's drain, if any. A URL in no pool is ErrServerNotFound.
func (d *Drains) Undrain(ctx context.Context, url string) error {
	if err := d.known(ctx, url); err != nil {
		return err
	}
	return d.store.Undrain(ctx, url)
}

func (d *Drains) known(ctx context.Context, url string) error {
	ok, err := d.store.ServerKnown(ctx, url)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("draining %s: %w", url, ErrServerNotFound)
	}
	return nil
}
