package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// AuditAppender adds an entry to a bounded audit stream; *fleet.Store
// implements it.
type AuditAppender interface {
	AppendAudit(ctx context.Context, e fleet.AuditEntry, maxLen int64) error
}

// ValkeyAuditor keeps audit records in the fleet's Valkey stream, where
// operators of every replica read who did what. The stream keeps the last
// MaxLen records; zero means fleet.DefaultAuditMaxLen.
type ValkeyAuditor struct {
	Store  AuditAppender
	MaxLen int64
}

var _ Auditor = ValkeyAuditor{}

// RecordAudit appends r to the stream.
func (a ValkeyAuditor) RecordAudit(ctx context.Context, r AuditRecord) error {
	maxLen := a.MaxLen
	if maxLen <= 0 {
		maxLen = fleet.DefaultAuditMaxLen
	}
	return a.Store.AppendAudit(ctx, fleet.AuditEntry{
		Time:    r.Time,
		UserID:  r.UserID,
		Action:  r.Action,
		Target:  r.Target,
		Outcome: r.Outcome,
	}, maxLen)
}
