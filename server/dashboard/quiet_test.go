package dashboard_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// TestDashboardQuietFleet signs in with a key pair and checks every view
// against the API, on a fleet where nothing changes unless the test changes
// it, so each number can be compared exactly; then markup from outside
// stays text; then the refresh fails while Valkey is down, marked stale and
// explained, and recovers when it is back.
func TestDashboardQuietFleet(t *testing.T) {
	q := startQuietFleet(t)
	tb := openTab(t, q.base)
	tb.open()
	tb.signInKeyPair(adminKey, adminSecret)
	tb.waitSignedIn()
	tb.waitFresh("overview", "0")
	tb.checkClean("after signing in with a key pair")

	t.Run("pods", func(t *testing.T) { q.checkPods(t, tb) })
	t.Run("pod page", func(t *testing.T) { q.checkPodPage(t, tb) })
	t.Run("servers", func(t *testing.T) { q.checkServers(t, tb) })
	t.Run("registry", func(t *testing.T) { q.checkRegistry(t, tb) })
	t.Run("overview", func(t *testing.T) { q.checkOverview(t, tb) })
	t.Run("sessions", func(t *testing.T) { q.checkSessions(t, tb, "usr_alice") })
	t.Run("markup from outside is text", func(t *testing.T) { q.checkHostile(t, tb) })
	t.Run("audit", func(t *testing.T) { q.checkAudit(t, tb) })
	t.Run("valkey outage", func(t *testing.T) { q.checkOutage(t, tb) })
}

// checkPods compares the pods table with the pod list.
func (q *quietFleet) checkPods(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("pods")
	tb.setPaused(true)
	tb.refreshNow("pods")
	limit := int64(100)
	resp, err := q.client.ListPodsWithResponse(t.Context(), &adminclient.ListPodsParams{Limit: &limit})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("listing pods: %v %v", err, resp)
	}
	got := tb.rows(`#view table`)
	var want []row
	for _, p := range resp.JSON200.Pods {
		health := "not in pool"
		healthValue := "null"
		if p.Healthy != nil {
			health, healthValue = "unhealthy", "false"
			if *p.Healthy {
				health, healthValue = "healthy", "true"
			}
		}
		idle := "never used"
		if p.LastUseMs != 0 {
			idle = durationText(p.IdleSeconds)
		}
		want = append(want, row{Key: p.Id, Cells: map[string]cell{
			"name":     {Text: p.Name},
			"kind":     {Text: p.Kind},
			"status":   {Text: p.DesiredStatus},
			"health":   {Text: health, Value: &healthValue},
			"draining": {Text: map[bool]string{true: "draining", false: "no"}[p.Draining], Value: ptr(strconv.FormatBool(p.Draining))},
			"inflight": {Text: strconv.FormatInt(p.Inflight, 10), Value: ptr(strconv.FormatInt(p.Inflight, 10))},
			"idle":     {Text: idle, Value: ptr(strconv.FormatInt(p.IdleSeconds, 10))},
			"cost":     {Text: fmt.Sprintf("$%.2f/h", p.CostPerHr), Value: ptr(strconv.FormatFloat(p.CostPerHr, 'f', -1, 64))},
			"gpu":      {Text: p.GpuTypeId},
			"dc":       {Text: p.DataCenterId},
		}})
	}
	if diff := cmp.Diff(want, got, idleTolerance); diff != "" {
		t.Errorf("the pods table differs from the API (-want +got):\n%s", diff)
	}
	if n := len(got); n != 7 {
		t.Errorf("%d pods shown, want 7", n)
	}

	// Filtering and sorting.
	tb.run("filtering", typeInto(`#pods-filter`, "sglang"))
	filtered := tb.rows(`#view table`)
	if len(filtered) != 1 || !strings.Contains(filtered[0].Cells["name"].Text, "sglang") {
		t.Errorf("filter sglang shows %v", keys(filtered))
	}
	tb.run("clearing the filter", typeInto(`#pods-filter`, ""))
	tb.click(`th[data-col="cost"] button`)
	var costs []float64
	for _, r := range tb.rows(`#view table`) {
		v, _ := strconv.ParseFloat(*r.Cells["cost"].Value, 64)
		costs = append(costs, v)
	}
	if !slices.IsSorted(costs) {
		t.Errorf("sorted by cost ascending: %v", costs)
	}
	if got := tb.text(`th[data-col="cost"]`); !strings.Contains(got, "▲") {
		t.Errorf("the cost header does not show the sort: %q", got)
	}
	var sort string
	tb.eval(`document.querySelector('th[data-col="cost"]').getAttribute('aria-sort')`, &sort)
	if sort != "ascending" {
		t.Errorf("aria-sort = %q, want ascending", sort)
	}
	tb.checkClean("pods view")
	tb.setPaused(false)
}

// idleTolerance compares idle times, which grow by the second, loosely:
// within 5 s.
var idleTolerance = cmp.FilterPath(func(p cmp.Path) bool {
	return strings.Contains(p.GoString(), `"idle"`)
}, cmp.Comparer(func(a, b cell) bool {
	if a.Value == nil || b.Value == nil {
		return a == b
	}
	x, _ := strconv.ParseInt(*a.Value, 10, 64)
	y, _ := strconv.ParseInt(*b.Value, 10, 64)
	if a.Text == "never used" || b.Text == "never used" {
		return a.Text == b.Text && x == y
	}
	return x-y <= 5 && y-x <= 5
}))

// durationText formats seconds as the dashboard does.
func durationText(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	days, hours, mins, secs := int64(d/(24*time.Hour)), int64(d/time.Hour)%24, int64(d/time.Minute)%60, int64(d/time.Second)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%d min %d s", mins, secs)
	}
	return fmt.Sprintf("%d s", secs)
}

func ptr[T any](v T) *T { return &v }

func keys(rows []row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Key)
	}
	return out
}
