package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileEntry is one credential of a credentials file. Exactly one of
// BearerSHA256, or APIKey with APISecretSHA256, is set; secrets are stored
// only as hex SHA-256.
type FileEntry struct {
	UserID          string   `yaml:"user_id"`
	Roles           []string `yaml:"roles"`
	BearerSHA256    string   `yaml:"bearer_sha256"`
	APIKey          string   `yaml:"api_key"`
	APISecretSHA256 string   `yaml:"api_secret_sha256"`
}

type fileDoc struct {
	Credentials []FileEntry `yaml:"credentials"`
}

type fileCredential struct {
	principal Principal
	bearer    []byte // sha256 of the token, or nil
	apiKey    string
	secret    []byte // sha256 of the secret, or nil
}

// FileAuthenticator checks credentials against a fixed list read from a
// credentials file. Every comparison of a secret's hash is constant-time,
// and every entry is compared, so timing does not tell which one matched.
type FileAuthenticator struct {
	entries []fileCredential
}

var _ Authenticator = (*FileAuthenticator)(nil)

// LoadFile reads and validates a YAML credentials file.
func LoadFile(path string) (*FileAuthenticator, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading credentials file: %w", err)
	}
	var doc fileDoc
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parsing credentials file: %w", err)
	}
	return NewFileAuthenticator(doc.Credentials)
}

// NewFileAuthenticator validates entries and builds an authenticator.
func NewFileAuthenticator(entries []FileEntry) (*FileAuthenticator, error) {
	if len(entries) == 0 {
		return nil, errors.New("credentials file has no credentials")
	}
	a := &FileAuthenticator{}
	for i, e := range entries {
		if e.UserID == "" {
			return nil, fmt.Errorf("credential %d: user_id is empty", i+1)
		}
		c := fileCredential{principal: Principal{UserID: e.UserID, Roles: append([]string(nil), e.Roles...)}}
		switch {
		case e.BearerSHA256 != "" && (e.APIKey != "" || e.APISecretSHA256 != ""):
			return nil, fmt.Errorf("credential %d (%s): set either bearer_sha256 or api_key with api_secret_sha256, not both", i+1, e.UserID)
		case e.BearerSHA256 != "":
			h, err := decodeSHA256(e.BearerSHA256)
			if err != nil {
				return nil, fmt.Errorf("credential %d (%s): bearer_sha256: %w", i+1, e.UserID, err)
			}
			c.bearer = h
		case e.APIKey != "" && e.APISecretSHA256 != "":
			h, err := decodeSHA256(e.APISecretSHA256)
			if err != nil {
				return nil, fmt.Errorf("credential %d (%s): api_secret_sha256: %w", i+1, e.UserID, err)
			}
			c.apiKey, c.secret = e.APIKey, h
		default:
			return nil, fmt.Errorf("credential %d (%s): needs bearer_sha256, or api_key with api_secret_sha256", i+1, e.UserID)
		}
		a.entries = append(a.entries, c)
	}
	return a, nil
}

func decodeSHA256(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("must be 64 hex digits (a SHA-256)")
	}
	return b, nil
}

// Authenticate finds the entry the credentials prove.
func (a *FileAuthenticator) Authenticate(_ context.Context, c Credentials) (Principal, error) {
	var found *fileCredential
	if c.IsBearer() {
		h := sha256.Sum256([]byte(c.Bearer))
		for i := range a.entries {
			e := &a.entries[i]
			if e.bearer != nil && subtle.ConstantTimeCompare(e.bearer, h[:]) == 1 {
				found = e
			}
		}
	} else {
		h := sha256.Sum256([]byte(c.APISecret))
		for i := range a.entries {
			e := &a.entries[i]
			keyOK := subtle.ConstantTimeCompare([]byte(e.apiKey), []byte(c.APIKey))
			secretOK := 0
			if e.secret != nil {
				secretOK = subtle.ConstantTimeCompare(e.secret, h[:])
			}
			if keyOK&secretOK == 1 {
				found = e
			}
		}
	}
	if found == nil {
		return Principal{}, ErrInvalidCredentials
	}
	return found.principal, nil
}

// HashSecret returns the hex SHA-256 of a secret, as a credentials file
// stores it.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewDemoToken returns a random bearer token for the demo credential.
func NewDemoToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("creating demo token: %w", err)
	}
	return "demo_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}
