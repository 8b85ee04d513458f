package authapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
)

// wireAnswer holds the fields of a session or key-pair answer that decide
// whether a credential is accepted; the others are ignored.
type wireAnswer struct {
	UserID   string      `json:"userID"`
	Verified bool        `json:"verified"`
	ExpireAt json.Number `json:"expireAt"`
	Roles    []string    `json:"roles"`
}

// maxExpireAt bounds a plausible expireAt (epoch seconds, about the year
// 33,000), so float answers convert to int64 safely.
const maxExpireAt = 1e12

// parseAnswer decodes a 200 answer of /session or /keypair into a principal
// and the moment the credential expires. An answer that is not a JSON object
// gives ErrUnavailable; an unverified or expired credential, or one without
// a user, gives ErrInvalidCredentials. A missing expireAt counts as expired.
func parseAnswer(data []byte, now time.Time) (auth.Principal, time.Time, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return auth.Principal{}, time.Time{}, fmt.Errorf("auth api answer is not a json object: %w", auth.ErrUnavailable)
	}
	var w wireAnswer
	if err := json.Unmarshal(data, &w); err != nil {
		// The decoder's message names types and offsets, never the values.
		return auth.Principal{}, time.Time{}, fmt.Errorf("decoding auth api answer: %w: %w", auth.ErrUnavailable, err)
	}
	var expireAt time.Time
	if w.ExpireAt != "" {
		secs, err := epochSeconds(w.ExpireAt)
		if err != nil {
			return auth.Principal{}, time.Time{}, fmt.Errorf("decoding auth api answer: %w", err)
		}
		expireAt = time.Unix(secs, 0)
	}
	switch {
	case w.UserID == "":
		return auth.Principal{}, time.Time{}, fmt.Errorf("answer names no user: %w", auth.ErrInvalidCredentials)
	case !w.Verified:
		return auth.Principal{}, time.Time{}, fmt.Errorf("credential not verified: %w", auth.ErrInvalidCredentials)
	case expireAt.IsZero() || !expireAt.After(now):
		return auth.Principal{}, time.Time{}, fmt.Errorf("credential expired: %w", auth.ErrInvalidCredentials)
	}
	return auth.Principal{UserID: w.UserID, Roles: w.Roles}, expireAt, nil
}

// epochSeconds reads expireAt, written as an integer or, tolerated, as a
// number with a fraction (truncated).
func epochSeconds(n json.Number) (int64, error) {
	if i, err := n.Int64(); err == nil && i >= -maxExpireAt && i <= maxExpireAt {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxExpireAt {
		return 0, fmt.Errorf("expireAt is not a plausible epoch time: %w", auth.ErrUnavailable)
	}
	return int64(f), nil
}
