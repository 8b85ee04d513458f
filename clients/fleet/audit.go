package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valkey-io/valkey-go"
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
	// ErrInvalidAuditID means a page bound is not a stream entry id (see
	// ValidAuditID).
	ErrInvalidAuditID = errors.New("invalid audit entry id")
)

// AuditEntry is one admin action in the audit trail: who did what to which
// target, when, and how it ended.
type AuditEntry struct {
	// ID is the stream entry id the entry was read from; AppendAudit
	// ignores it, the server assigns ids. Ids grow with arrival, so a page
	// bound is an id (see AuditPage).
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
	return decodeAudit(msgs)
}

// AuditPage returns up to limit entries of the audit stream, the most recent
// first, starting after the entry before (exclusive; "" starts at the most
// recent). next is the id to pass as before for the following page, "" on
// the last page. A page costs O(limit) whatever the stream's length: one
// XREVRANGE from an exclusive bound, reading one entry more than limit to
// learn whether another page follows. An entry trimmed from the stream
// meanwhile does not disturb the bound.
func (s *Store) AuditPage(ctx context.Context, before string, limit int64) (entries []AuditEntry, next string, err error) {
	if limit < 1 || limit == math.MaxInt64 {
		return nil, "", fmt.Errorf("reading audit page: limit %d: %w", limit, ErrInvalidAuditLen)
	}
	end := "+"
	if before != "" {
		ms, seq, ok := parseAuditID(before)
		if !ok {
			return nil, "", fmt.Errorf("reading audit page: %w", ErrInvalidAuditID)
		}
		if ms == 0 && seq == 0 {
			// Nothing precedes the least id, and the server refuses an
			// exclusive bound below it.
			return []AuditEntry{}, "", nil
		}
		end = "(" + before
	}
	msgs, err := s.c.Do(ctx, s.c.B().Xrevrange().Key(AuditStreamKey()).End(end).Start("-").Count(limit+1).Build()).AsXRange()
	if err != nil {
		return nil, "", fmt.Errorf("reading audit page: %w", err)
	}
	if int64(len(msgs)) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	entries, err = decodeAudit(msgs)
	if err != nil {
		return nil, "", err
	}
	return entries, next, nil
}

// ValidAuditID reports whether s is a stream entry id as the server assigns
// them, "<ms>-<seq>", both parts decimal and within 64 bits, so that the
// admin API can refuse a malformed page bound before it reaches the store.
func ValidAuditID(s string) bool {
	_, _, ok := parseAuditID(s)
	return ok
}

func parseAuditID(s string) (ms, seq uint64, ok bool) {
	msText, seqText, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	// Base 10 admits digits only: no sign, no underscore, no prefix.
	ms, errMs := strconv.ParseUint(msText, 10, 64)
	seq, errSeq := strconv.ParseUint(seqText, 10, 64)
	return ms, seq, errMs == nil && errSeq == nil
}

// decodeAudit turns stream entries into AuditEntry values, in order. Times
// come back in UTC.
func decodeAudit(msgs []valkey.XRangeEntry) ([]AuditEntry, error) {
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
