package runpod

import "testing"

// TestTimeMemoNormalisesEachRenderingOnce checks that a rendering seen
// before is answered from memory with the normaliser's own result, that
// the memory stays bounded, and that a list normalises through it.
func TestTimeMemoNormalisesEachRenderingOnce(t *testing.T) {
	var m timeMemo
	calls := 0
	count := func(raw string) string { calls++; return NormalizeStatusChange(raw) }
	raw := "Rented by User: Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)"
	for range 3 {
		if got := m.normalize(raw, count); got != "2024-06-25T08:00:00Z" {
			t.Fatalf("normalize = %q", got)
		}
	}
	if calls != 1 {
		t.Errorf("a rendering seen three times was parsed %d times, want once", calls)
	}
	for i := range maxMemoTimes + 10 {
		m.normalize(string(rune('a'+i%26))+string(rune(i)), func(s string) string { return s })
	}
	if n := len(m.seen); n > maxMemoTimes {
		t.Errorf("the memory holds %d renderings, more than %d", n, maxMemoTimes)
	}
	w := wirePod{ID: "a1", LastStatusChange: raw, LastStartedAt: "2024-06-25 08:00:00.000 +0000 UTC"}
	if p := w.pod(&m); p.LastStatusChange != "2024-06-25T08:00:00Z" || p.LastStartedAt != "2024-06-25T08:00:00Z" {
		t.Errorf("a pod through the memory: %q, %q", p.LastStatusChange, p.LastStartedAt)
	}
}
