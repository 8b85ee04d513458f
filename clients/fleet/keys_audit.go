package fleet

// The audit trail's names, kept beside keys.go (which builds every other
// name) and described in SCHEMA.md with the rest.

// AuditStreamKey is the stream holding the most recent admin actions of every
// replica, oldest first. It is one key, so it lives in one cluster slot and
// needs no hash tag.
func AuditStreamKey() string {
	return "aiadmin:audit"
}

// Field names of an entry of AuditStreamKey.
const (
	auditFieldAtMs    = "at_ms"
	auditFieldUserID  = "user_id"
	auditFieldAction  = "action"
	auditFieldTarget  = "target"
	auditFieldOutcome = "outcome"
)
