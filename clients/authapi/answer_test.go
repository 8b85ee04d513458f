package authapi

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/auth"
)

func TestParseAnswer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name       string
		body       string
		want       auth.Principal
		wantExpire time.Time
		wantErr    error
	}{
		{
			name:       "session as documented",
			body:       `{"sessionID": "s", "userID": "u", "verified": true, "expireAt": 1700000600, "roles": ["user", "admin"], "groups": ["public"]}`,
			want:       auth.Principal{UserID: "u", Roles: []string{"user", "admin"}},
			wantExpire: time.Unix(1_700_000_600, 0),
		},
		{
			name:       "key pair as documented",
			body:       `{"apiKey": "k", "keyID": "i", "verified": true, "expireAt": 1700000600, "userID": "u", "roles": ["ai_admin"], "groups": ["public"]}`,
			want:       auth.Principal{UserID: "u", Roles: []string{"ai_admin"}},
			wantExpire: time.Unix(1_700_000_600, 0),
		},
		{
			name:       "expireAt with a fraction",
			body:       `{"userID": "u", "verified": true, "expireAt": 1700000600.9}`,
			want:       auth.Principal{UserID: "u"},
			wantExpire: time.Unix(1_700_000_600, 0),
		},
		{name: "unverified", body: `{"userID": "u", "verified": false, "expireAt": 1700000600}`, wantErr: auth.ErrInvalidCredentials},
		{name: "verified missing", body: `{"userID": "u", "expireAt": 1700000600}`, wantErr: auth.ErrInvalidCredentials},
		{name: "expired", body: `{"userID": "u", "verified": true, "expireAt": 1699999999}`, wantErr: auth.ErrInvalidCredentials},
		{name: "expires now", body: `{"userID": "u", "verified": true, "expireAt": 1700000000}`, wantErr: auth.ErrInvalidCredentials},
		{name: "expireAt missing", body: `{"userID": "u", "verified": true}`, wantErr: auth.ErrInvalidCredentials},
		{name: "expireAt negative", body: `{"userID": "u", "verified": true, "expireAt": -5}`, wantErr: auth.ErrInvalidCredentials},
		{name: "userID missing", body: `{"verified": true, "expireAt": 1700000600}`, wantErr: auth.ErrInvalidCredentials},
		{name: "userID empty", body: `{"userID": "", "verified": true, "expireAt": 1700000600}`, wantErr: auth.ErrInvalidCredentials},
		{name: "not an object", body: `"u"`, wantErr: auth.ErrUnavailable},
		{name: "null", body: `null`, wantErr: auth.ErrUnavailable},
		{name: "verified as a string", body: `{"userID": "u", "verified": "true", "expireAt": 1700000600}`, wantErr: auth.ErrUnavailable},
		{name: "roles as a string", body: `{"userID": "u", "verified": true, "expireAt": 1700000600, "roles": "ai_admin"}`, wantErr: auth.ErrUnavailable},
		{name: "expireAt beyond int64", body: `{"userID": "u", "verified": true, "expireAt": 99999999999999999999}`, wantErr: auth.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, expire, err := parseAnswer([]byte(tt.body), now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("parseAnswer() error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			if !expire.Equal(tt.wantExpire) {
				t.Errorf("expireAt = %v, want %v", expire, tt.wantExpire)
			}
		})
	}
}

// FuzzParseAnswer checks that no answer makes decoding panic, and that what
// it accepts is a verified, unexpired credential with a user.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"sessionID": "s", "userID": "u", "verified": true, "expireAt": 1674492894, "roles": ["user", "admin"], "groups": ["public"]}`), int64(1_600_000_000))
	f.Add([]byte(`{"apiKey": "k", "keyID": "i", "verified": true, "expireAt": 1674492894, "userID": "u", "roles": ["ai_admin"]}`), int64(1_700_000_000))
	f.Add([]byte(`{"userID": "u", "verified": true, "expireAt": 1.6e9}`), int64(0))
	f.Add([]byte(`{"userID": "u", "verified": true, "expireAt": "1674492894"}`), int64(0))
	f.Add([]byte(`null`), int64(0))
	f.Add([]byte(`{"expireAt": 1e400}`), int64(-1))
	f.Add([]byte(``), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		p, expire, err := parseAnswer(data, now)
		if err != nil {
			if errors.Is(err, auth.ErrInvalidCredentials) == errors.Is(err, auth.ErrUnavailable) {
				t.Fatalf("error %v must be exactly one of invalid or unavailable", err)
			}
			if p.UserID != "" || p.Roles != nil || !expire.IsZero() {
				t.Fatalf("error %v came with a principal %+v or expiry %v", err, p, expire)
			}
			return
		}
		if p.UserID == "" {
			t.Fatalf("accepted an answer without a user: %q", data)
		}
		if !expire.After(now) {
			t.Fatalf("accepted an answer expiring at %v, not after %v: %q", expire, now, data)
		}
	})
}
