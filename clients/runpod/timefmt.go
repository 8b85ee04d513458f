package runpod

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timestampLayouts are the renderings a RunPod timestamp is read in, tried in
// order: those seen from the API and their near relatives. Go's parser accepts fractional seconds after the
// seconds field even when a layout does not name them, so each layout also
// covers its fractional variants. Layouts without an offset are read as UTC.
var timestampLayouts = []string{
	time.RFC3339Nano,                   // 2024-06-25T08:00:00Z, 2024-06-25T10:00:00.123+02:00
	"2006-01-02T15:04:05Z0700",         // 2024-06-25T08:00:00.000+0000
	"2006-01-02 15:04:05 -0700",        // 2024-06-25 08:00:00 +0000, and Go's String() once its zone name is dropped
	"2006-01-02 15:04:05Z07:00",        // 2024-06-25 08:00:00+00:00, 2024-06-25 08:00:00Z
	"2006-01-02 15:04:05 UTC",          // 2024-06-25 08:00:00 UTC
	"2006-01-02 15:04:05 GMT",          // 2024-06-25 08:00:00 GMT
	"2006-01-02T15:04:05",              // 2024-06-25T08:00:00 (no zone: UTC)
	"2006-01-02 15:04:05",              // 2024-06-25 08:00:00 (no zone: UTC)
	jsDateLayout,                       // JavaScript Date.toString() without the zone name
	"Mon Jan 2 15:04:05 UTC-0700 2006", // old JScript Date.toString(): Tue Jun 25 10:00:00 UTC+0200 2024
	time.RFC1123,                       // JavaScript Date.toUTCString(): Tue, 25 Jun 2024 08:00:00 GMT
	time.RFC1123Z,                      // Tue, 25 Jun 2024 10:00:00 +0200
	"Mon Jan 2 2006 15:04:05",          // Date.toString() stripped of its zone (UTC)
	"Mon Jan _2 15:04:05 2006",         // ANSI C asctime (UTC)
}

// goStringPattern matches Go's time.Time.String() rendering, whose trailing
// zone name ("UTC", "CEST", or "+0200" for a zone without one) repeats the
// offset before it and is dropped.
var goStringPattern = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}(?:\.\d+)? [+-]\d{4}) \S+$`)

// jsDateLayout reads what jsDatePattern finds.
const jsDateLayout = "Mon Jan 2 2006 15:04:05 GMT-0700"

// jsDatePattern finds a JavaScript Date.toString() rendering inside free text:
// weekday, month, day, year, time and a GMT offset; the zone name in
// parentheses that follows it is ignored, since the offset says all.
var jsDatePattern = regexp.MustCompile(
	`(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2} \d{4} \d{1,2}:\d{2}:\d{2} GMT[+-]\d{4}`)

// ParseTime reads one timestamp in any of the layouts RunPod's timestamps
// come in: RFC 3339 (with or without fractional seconds or an offset), Go's
// time.Time.String() rendering, "2006-01-02 15:04:05" (read as UTC), epoch
// seconds (10 digits) or milliseconds (13 digits) as a string, and JavaScript
// Date.toString() in any zone. It reports false for anything else, including
// the empty string.
func ParseTime(raw string) (time.Time, bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return time.Time{}, false
	}
	if t, ok := parseEpoch(s); ok {
		return t, true
	}
	// Go's String() may carry a monotonic clock reading: "... UTC m=+0.000123".
	if i := strings.Index(s, " m="); i > 0 {
		s = s[:i]
	}
	if m := goStringPattern.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	// A JavaScript zone name ("(Central European Summer Time)") adds nothing
	// to the offset before it and is localised, so it is dropped.
	if i := strings.Index(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[:i])
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseEpoch reads 10 digits as epoch seconds and 13 as epoch milliseconds,
// both spanning 2001 to 2286; other runs of digits ("2024", "20240625080000")
// are too ambiguous to read.
func parseEpoch(s string) (time.Time, bool) {
	if len(s) != 10 && len(s) != 13 {
		return time.Time{}, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s[0] == '0' {
		return time.Time{}, false
	}
	if len(s) == 13 {
		return time.UnixMilli(n).UTC(), true
	}
	return time.Unix(n, 0).UTC(), true
}

// NormalizeTime renders a RunPod timestamp (lastStartedAt and the like) as
// RFC 3339 in UTC to the second, e.g. "2024-06-25T08:00:00Z": one shape
// whatever the source, and status changes carry no finer time anyway.
// Fractions of a second are dropped. A value that cannot be read becomes "".
func NormalizeTime(raw string) string {
	t, ok := ParseTime(raw)
	if !ok {
		return ""
	}
	return t.Format(time.RFC3339)
}

// NormalizeStatusChange reads the time out of RunPod's free-text
// lastStatusChange ("Rented by User: Tue Jun 25 2024 10:00:00 GMT+0200
// (Central European Summer Time)") and renders it as RFC 3339 in UTC. A phrase
// with no time ("Exited by User") or an unreadable time becomes "".
func NormalizeStatusChange(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	if m := jsDatePattern.FindString(s); m != "" {
		// The pattern found this very layout: no other needs trying.
		if t, err := time.Parse(jsDateLayout, m); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
		return NormalizeTime(m)
	}
	if v := NormalizeTime(s); v != "" {
		return v
	}
	// The phrase itself may hold ": " ("Exited by system: OOM: <time>"), so
	// every tail after a ": " is tried, longest first.
	for i := strings.Index(s, ": "); i >= 0; {
		tail := s[i+2:]
		if v := NormalizeTime(tail); v != "" {
			return v
		}
		j := strings.Index(tail, ": ")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return ""
}
