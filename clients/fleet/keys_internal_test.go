package fleet

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAffinityValueRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		wantMs int64
		wantU  string
		wantOK bool
	}{
		{"url with colons", affinityValue(1700000000000, "http://a:8000/v1"), 1700000000000, "http://a:8000/v1", true},
		{"no separator", "1700000000000", 0, "", false},
		{"not a number", "soon:http://a", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, u, ok := parseAffinityValue(tc.value)
			if diff := cmp.Diff([]any{tc.wantMs, tc.wantU, tc.wantOK}, []any{ms, u, ok}); diff != "" {
				t.Errorf("parseAffinityValue(%q) (-want +got):\n%s", tc.value, diff)
			}
		})
	}
}

func TestLeaseModel(t *testing.T) {
	id := strings.Repeat("a", leaseIDLen)
	tests := []struct {
		name   string
		member string
		want   string
		wantOK bool
	}{
		{"model with colons", leaseMember(id, "org/m:v1"), "org/m:v1", true},
		{"short", "abc:m", "", false},
		{"no separator", id + "xm", "", false},
		{"empty model", id + ":", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := leaseModel(tc.member)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("leaseModel(%q) = %q, %v; want %q, %v", tc.member, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestDrainValueRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		value      string
		wantMs     int64
		wantReason string
		wantOK     bool
	}{
		{"reason with colons", drainValue(1700000000000, "node 3: kernel"), 1700000000000, "node 3: kernel", true},
		{"empty reason", drainValue(5, ""), 5, "", true},
		{"no separator", "1700000000000", 0, "", false},
		{"not a number", "soon:why", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, reason, ok := parseDrainValue(tc.value)
			if diff := cmp.Diff([]any{tc.wantMs, tc.wantReason, tc.wantOK}, []any{ms, reason, ok}); diff != "" {
				t.Errorf("parseDrainValue(%q) (-want +got):\n%s", tc.value, diff)
			}
		})
	}
}
