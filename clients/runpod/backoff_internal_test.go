package runpod

import (
	"testing"
	"time"
)

// TestBackOffWaits draws the waits before each retry many times and checks
// each falls in the upper half of the base doubled per earlier retry, capped
// at maxBackoff, and that the draws spread over that half.
func TestBackOffWaits(t *testing.T) {
	tests := []struct {
		base time.Duration
		// want[i] is the full wait before retry i+1; draws fall in
		// [want/2, want].
		want []time.Duration
	}{
		{100 * time.Millisecond, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, maxBackoff, maxBackoff}},
		{time.Millisecond, []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}},
		{time.Minute, []time.Duration{maxBackoff, maxBackoff}},
	}
	for _, tt := range tests {
		t.Run(tt.base.String(), func(t *testing.T) {
			c := &Client{backoff: tt.base}
			lowest := make([]time.Duration, len(tt.want))
			highest := make([]time.Duration, len(tt.want))
			for draw := range 2000 {
				b := c.newBackOff()
				for i, want := range tt.want {
					got := b.NextBackOff()
					if got < want/2 || got > want {
						t.Fatalf("draw %d, retry %d: wait %v, want within [%v, %v]", draw, i+1, got, want/2, want)
					}
					if draw == 0 || got < lowest[i] {
						lowest[i] = got
					}
					highest[i] = max(highest[i], got)
				}
			}
			for i, want := range tt.want {
				// 2,000 uniform draws leave no tenth of the range empty.
				if lowest[i] > want/2+want/20 || highest[i] < want-want/20 {
					t.Errorf("retry %d: waits spread over [%v, %v], want most of [%v, %v]", i+1, lowest[i], highest[i], want/2, want)
				}
			}
		})
	}
}
