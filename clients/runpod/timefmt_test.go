package runpod_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/runpod"
)

func TestNormalizeTime(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"rfc 3339 utc", "2024-06-25T08:00:00Z", "2024-06-25T08:00:00Z"},
		{"rfc 3339 milliseconds", "2024-06-25T08:00:00.123Z", "2024-06-25T08:00:00Z"},
		{"rfc 3339 nanoseconds", "2024-06-25T08:00:00.999999999Z", "2024-06-25T08:00:00Z"},
		{"rfc 3339 zero fraction", "2024-06-25T08:00:00.000Z", "2024-06-25T08:00:00Z"},
		{"rfc 3339 positive offset", "2024-06-25T10:00:00+02:00", "2024-06-25T08:00:00Z"},
		{"rfc 3339 negative offset", "2024-06-25T01:00:00-07:00", "2024-06-25T08:00:00Z"},
		{"rfc 3339 half hour offset", "2024-06-25T13:30:00.5+05:30", "2024-06-25T08:00:00Z"},
		{"offset without colon", "2024-06-25T08:00:00.000+0000", "2024-06-25T08:00:00Z"},
		{"offset crossing midnight", "2024-06-24T23:30:00-08:30", "2024-06-25T08:00:00Z"},
		{"go string utc", "2024-06-25 08:00:00.123 +0000 UTC", "2024-06-25T08:00:00Z"},
		{"go string named zone", "2024-06-25 10:00:00 +0200 CEST", "2024-06-25T08:00:00Z"},
		{"go string unnamed zone", "2024-06-25 10:00:00 +0200 +0200", "2024-06-25T08:00:00Z"},
		{"go string monotonic", "2024-06-25 08:00:00.123456789 +0000 UTC m=+12.345678901", "2024-06-25T08:00:00Z"},
		{"space offset no name", "2024-06-25 01:00:00 -0700", "2024-06-25T08:00:00Z"},
		{"space rfc 3339 offset", "2024-06-25 10:00:00+02:00", "2024-06-25T08:00:00Z"},
		{"space z", "2024-06-25 08:00:00Z", "2024-06-25T08:00:00Z"},
		{"space literal utc", "2024-06-25 08:00:00 UTC", "2024-06-25T08:00:00Z"},
		{"space literal gmt", "2024-06-25 08:00:00 GMT", "2024-06-25T08:00:00Z"},
		{"no zone is utc", "2024-06-25 08:00:00", "2024-06-25T08:00:00Z"},
		{"no zone fraction", "2024-06-25 08:00:00.250", "2024-06-25T08:00:00Z"},
		{"no zone with t", "2024-06-25T08:00:00", "2024-06-25T08:00:00Z"},
		{"epoch milliseconds", "1719302400000", "2024-06-25T08:00:00Z"},
		{"epoch milliseconds fraction", "1719302400999", "2024-06-25T08:00:00Z"},
		{"epoch seconds", "1719302400", "2024-06-25T08:00:00Z"},
		{"js date cest", "Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)", "2024-06-25T08:00:00Z"},
		{"js date without zone name", "Tue Jun 25 2024 10:00:00 GMT+0200", "2024-06-25T08:00:00Z"},
		{"js date without offset is utc", "Tue Jun 25 2024 08:00:00", "2024-06-25T08:00:00Z"},
		{"js date utc string", "Tue, 25 Jun 2024 08:00:00 GMT", "2024-06-25T08:00:00Z"},
		{"rfc 1123 offset", "Tue, 25 Jun 2024 10:00:00 +0200", "2024-06-25T08:00:00Z"},
		{"old jscript", "Tue Jun 25 10:00:00 UTC+0200 2024", "2024-06-25T08:00:00Z"},
		{"asctime", "Tue Jun 25 08:00:00 2024", "2024-06-25T08:00:00Z"},
		{"surrounding space", "  2024-06-25T08:00:00Z\n", "2024-06-25T08:00:00Z"},
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"garbage", "soon", ""},
		{"null text", "null", ""},
		{"zero epoch", "0", ""},
		{"negative epoch", "-1", ""},
		{"epoch with letters", "1719302400000x", ""},
		{"year alone", "2024", ""},
		{"compact digits", "20240625080000", ""},
		{"epoch eleven digits", "17193024000", ""},
		{"epoch leading zero", "0719302400", ""},
		{"month out of range", "2024-13-01T00:00:00Z", ""},
		{"day out of range", "2024-02-30 08:00:00", ""},
		{"date only", "2024-06-25", ""},
		{"js invalid date", "Invalid Date", ""},
		{"status phrase", "Rented by User", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, runpod.NormalizeTime(tt.raw)); diff != "" {
				t.Errorf("NormalizeTime(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestNormalizeStatusChange(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"rented cest", "Rented by User: Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)", "2024-06-25T08:00:00Z"},
		{"rented utc as seen in public code", "Rented by User: Sun Mar 29 2026 18:34:45 GMT+0000 (Coordinated Universal Time)", "2026-03-29T18:34:45Z"},
		{"exited pacific", "Exited by User: Tue Jun 25 2024 01:00:00 GMT-0700 (Pacific Daylight Time)", "2024-06-25T08:00:00Z"},
		{"pacific crossing midnight", "Exited by User: Mon Jun 24 2024 23:30:00 GMT-0700 (Pacific Daylight Time)", "2024-06-25T06:30:00Z"},
		{"india half hour", "Rented by User: Tue Jun 25 2024 13:30:00 GMT+0530 (India Standard Time)", "2024-06-25T08:00:00Z"},
		{"chatham quarter hour crossing a day back", "Rented by User: Wed Jun 26 2024 08:45:00 GMT+1245 (Chatham Standard Time)", "2024-06-25T20:00:00Z"},
		{"brasilia crossing a year", "Resumed by User: Tue Dec 31 2024 23:00:00 GMT-0300 (Brasilia Standard Time)", "2025-01-01T02:00:00Z"},
		{"new york winter", "Reset by User: Wed Jan 01 2025 00:15:00 GMT-0500 (Eastern Standard Time)", "2025-01-01T05:15:00Z"},
		{"localised zone name", "Rented by User: Tue Jun 25 2024 10:00:00 GMT+0200 (Mitteleuropäische Sommerzeit)", "2024-06-25T08:00:00Z"},
		{"no zone name", "Rented by User: Tue Jun 25 2024 10:00:00 GMT+0200", "2024-06-25T08:00:00Z"},
		{"single digit day", "Rented by User: Wed Jun 5 2024 10:00:00 GMT+0200 (Central European Summer Time)", "2024-06-05T08:00:00Z"},
		{"date without phrase", "Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)", "2024-06-25T08:00:00Z"},
		{"phrase with colons", "Exited by system: out of memory: Tue Jun 25 2024 10:00:00 GMT+0200 (CEST)", "2024-06-25T08:00:00Z"},
		{"phrase and rfc 3339", "Rented by User: 2024-06-25T10:00:00+02:00", "2024-06-25T08:00:00Z"},
		{"phrase with colons and go string", "Exited by system: OOM: 2024-06-25 08:00:00 +0000 UTC", "2024-06-25T08:00:00Z"},
		{"bare rfc 3339", "2024-06-25T08:00:00Z", "2024-06-25T08:00:00Z"},
		{"phrase alone rented", "Rented by User", ""},
		{"phrase alone exited", "Exited by User", ""},
		{"phrase with colon and nothing after", "Exited by User: ", ""},
		{"phrase with colon but no date", "Exited by system: out of memory", ""},
		{"phrase with invalid date", "Rented by User: Invalid Date", ""},
		{"impossible day", "Rented by User: Fri Feb 30 2024 10:00:00 GMT+0000 (Coordinated Universal Time)", ""},
		{"empty", "", ""},
		{"garbage", "%%%$#@!", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, runpod.NormalizeStatusChange(tt.raw)); diff != "" {
				t.Errorf("NormalizeStatusChange(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}
