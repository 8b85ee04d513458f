package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DefaultAuditMaxLen is a sensible bound for the audit stream: months of
// admin actions at any plausible rate, a few MB of memory at most.
const DefaultAuditMaxLen = 10000

// Audit errors, wrapped by every error AppendAudit and RecentAudit return for
// bad arguments.
var (
	// ErrEmptyAuditAction means an audit entry names no action.
	ErrEmptyAuditAction = errors.New("empty audit action")
	// ErrInvalidAuditLen means a stream bound or a count was not positive.
	ErrInvalidAuditLen = errors.New("invalid audit length")
)

// AuditEntry is one admin action in the audit trail: who did what to which
// target, when, and how it ended.
type AuditEntry struct {
	// ID is the stream entry id RecentAudit read it from; AppendAudit ignores
	// it, the server assigns ids.
	ID string
	// Time is when the action happened, kept to the millisecond; the zero
	// time means the store's clock at the append.
	Time    time.Time
	UserID  string
	Action  string
	Target  string
	Outcome string
}

// AppendAudit adds e to the audit stream and trims the stream to its maxLen
// most recent entries in the same command. Trimming is exact (MAXLEN =), not
// approximate: admin actions are rare, so the cost is negligible, and the
// bound is then exactly what operators configured.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry, maxLen int64) error {
	if e.Action == "" {
		return fmt.Errorf("appending audit entry: %w", ErrEmptyAuditAction)
	}
	if maxLen < 1 {
		return fmt.Errorf("appending audit entry: max length %d: %w", maxLen, ErrInvalidAuditLen)
	}
	at := e.Time
	if at.IsZero() {
		at = s.opts.Now()
	}
	cmd := s.c.B().Xadd().Key(AuditStreamKey()).Maxlen().Exact().Threshold(strconv.FormatInt(maxLen, 10)).Id("*").
		FieldValue().
		FieldValue(auditFieldAtMs, strconv.FormatInt(at.UnixMilli(), 10)).
		FieldValue(auditFieldUserID, e.UserID).
		FieldValue(auditFieldAction, e.Action).
		FieldValue(auditFieldTarget, e.Target).
		FieldValue(auditFieldOutcome, e.Outcome).
		Build()
	if err := s.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("appending audit entry %s: %w", e.Action, err)
	}
	return nil
}

// RecentAudit returns up to n entries of the audit stream, the most recent
// first. Times come back in UTC.
func (s *Store) RecentAudit(ctx context.Context, n int64) ([]AuditEntry, error) {
	if n < 1 {
		return nil, fmt.Errorf("reading audit entries: count %d: %w", n, ErrInvalidAuditLen)
	}
	msgs, err := s.c.Do(ctx, s.c.B().Xrevrange().Key(AuditStreamKey()).End("+").Start("-").Count(n).Build()).AsXRange()
	if err != nil {
		return nil, fmt.Errorf("reading audit entries: %w", err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		f := m.FieldValues
		atMs, err := strconv.ParseInt(f[auditFieldAtMs], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading audit entry %s: %s: %w", m.ID, auditFieldAtMs, err)
		}
		out = append(out, AuditEntry{
			ID:      m.ID,
			Time:    time.UnixMilli(atMs).UTC(),
			UserID:  f[auditFieldUserID],
			Action:  f[auditFieldAction],
			Target:  f[auditFieldTarget],
			Outcome: f[auditFieldOutcome],
		})
	}
	return out, nil
}
