package httpapi

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// AuditRecord says who did what to which target, when, and how it ended.
type AuditRecord struct {
	Time    time.Time
	UserID  string
	Action  string
	Target  string
	Outcome string
}

// Auditor keeps audit records where operators of every replica can read them.
type Auditor interface {
	RecordAudit(ctx context.Context, r AuditRecord) error
}

// audit writes an admin action to the log and, when configured, to the
// shared audit trail. A failure to write the trail is logged, never fatal to
// the action, which has already happened.
func (h *Handlers) audit(ctx context.Context, action, target, outcome string) {
	// The target may be caller input: it is made printable once, for the log
	// and the shared trail alike.
	r := AuditRecord{Time: h.now().UTC(), Action: action, Target: sanitize(target), Outcome: sanitize(outcome)}
	if p, ok := principalFrom(ctx); ok {
		r.UserID = p.UserID
	}
	if h.Log != nil {
		h.Log.Info("audit",
			zap.String("user_id", r.UserID),
			zap.String("action", r.Action),
			zap.String("target", r.Target),
			zap.String("outcome", r.Outcome),
			zap.Time("at", r.Time))
	}
	if h.Audit == nil {
		return
	}
	// The action is done; its record must not be lost to a cancelled request.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.Audit.RecordAudit(actx, r); err != nil && h.Log != nil {
		h.Log.Warn("writing audit record", zap.String("action", r.Action), zap.Error(err))
	}
}
