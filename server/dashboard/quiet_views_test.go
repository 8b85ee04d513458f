package dashboard_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// timeMsText formats epoch milliseconds as the dashboard does.
func timeMsText(ms int64) string {
	if ms == 0 {
		return "never"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05") + "Z"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// checkPodPage opens a busy pod's page from the pods table and compares its
// details and its demand per model with the API.
func (q *quietFleet) checkPodPage(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.setPaused(false)
	tb.show("pods")
	id := q.pods[0].ID
	tb.click(fmt.Sprintf(`#view tr[data-key=%q] td[data-col="name"] a`, id))
	tb.waitFresh("pod", "0")
	tb.setPaused(true)
	tb.refreshNow("pod")
	tb.refreshNow("pod")

	pod, err := q.client.GetPodWithResponse(t.Context(), id)
	if err != nil || pod.JSON200 == nil {
		t.Fatalf("getting the pod: %v %v", err, pod)
	}
	p := pod.JSON200
	demand, err := q.client.GetPodDemandWithResponse(t.Context(), p.Url)
	if err != nil || demand.JSON200 == nil {
		t.Fatalf("getting the demand: %v %v", err, demand)
	}
	if got := tb.text(`#view h1`); got != p.Name {
		t.Errorf("title %q, want the pod's name %q", got, p.Name)
	}
	var fields map[string]string
	tb.eval(`Object.fromEntries([...document.querySelectorAll('#view dd[data-field]')].map((dd) => [dd.dataset.field, dd.textContent]))`, &fields)
	want := map[string]string{
		"id": p.Id, "kind": p.Kind, "status": p.DesiredStatus, "health": "healthy", "draining": "no",
		"url": p.Url, "models": strings.Join(p.Models, ", "), "inflight": itoa(p.Inflight),
		"idle": durationText(p.IdleSeconds), "last_use": timeMsText(p.LastUseMs),
		"last_started": fields["last_started"], "last_change": p.LastStatusChange,
		"cost": fmt.Sprintf("$%.2f/h", p.CostPerHr), "gpu": p.GpuTypeId,
		"location": p.Location + " · " + p.DataCenterId,
	}
	if diff := cmp.Diff(want, fields, cmp.FilterPath(func(path cmp.Path) bool {
		return strings.Contains(path.GoString(), `"idle"`)
	}, cmp.Ignore())); diff != "" {
		t.Errorf("the pod's details differ from the API (-want +got):\n%s", diff)
	}
	if p.Inflight != 3 {
		t.Errorf("the seeded pod has %d requests in flight, want 3", p.Inflight)
	}

	var wantDemand []row
	var rate int64
	for _, m := range demand.JSON200.Models {
		rate += m.Rate5m
		wantDemand = append(wantDemand, row{Key: m.ModelId, Cells: map[string]cell{
			"model":    {Text: m.ModelId},
			"inflight": {Text: itoa(m.Inflight), Value: ptr(itoa(m.Inflight))},
			"rate_5m":  {Text: itoa(m.Rate5m), Value: ptr(itoa(m.Rate5m))},
		}})
	}
	if diff := cmp.Diff(wantDemand, tb.rows(`#view table`)); diff != "" {
		t.Errorf("the demand table differs from the API (-want +got):\n%s", diff)
	}
	// Three refreshes so far: three samples in each sparkline.
	for _, c := range []struct {
		fig  string
		want string
	}{
		{`#spark-inflight`, fmt.Sprintf("now %d, lowest %d, highest %d, over 3 samples", demand.JSON200.Inflight, demand.JSON200.Inflight, demand.JSON200.Inflight)},
		{`#spark-rate`, fmt.Sprintf("now %d, lowest %d, highest %d, over 3 samples", rate, rate, rate)},
	} {
		var label string
		tb.eval(fmt.Sprintf(`document.querySelector(%s).previousElementSibling.getAttribute('aria-label')`, jsString(c.fig)), &label)
		if !strings.Contains(label, c.want) {
			t.Errorf("sparkline %s is labelled %q, want it to say %q", c.fig, label, c.want)
		}
	}
	var buttons map[string]bool
	tb.eval(`Object.fromEntries(['pod-restart', 'pod-drain', 'pod-undrain'].map((id) => [id, !document.getElementById(id).hidden && !document.getElementById(id).disabled]))`, &buttons)
	if diff := cmp.Diff(map[string]bool{"pod-restart": true, "pod-drain": true, "pod-undrain": false}, buttons); diff != "" {
		t.Errorf("usable actions (-want +got):\n%s", diff)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("pod page: %v", missing)
	}
	tb.checkClean("pod page")
	tb.setPaused(false)
}

// checkServers compares each provider's table with the server list. The
// probes move the counters and times every interval, so the page and the
// API are compared at one moment.
func (q *quietFleet) checkServers(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("servers")
	atOneMoment(t, tb, "servers", func() string {
		r := &recorder{}
		q.compareServers(r, tb)
		return r.String()
	})
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("servers view: %v", missing)
	}
	tb.checkClean("servers view")
}

// compareServers compares each provider's table with the server list.
func (q *quietFleet) compareServers(t testing.TB, tb *tab) {
	limit := int64(100)
	resp, err := q.client.ListServersWithResponse(tb.t.Context(), &adminclient.ListServersParams{Limit: &limit})
	if err != nil || resp.JSON200 == nil {
		tb.t.Fatalf("listing servers: %v %v", err, resp)
	}
	for _, provider := range []string{"vllm", "sglang", "speaches"} {
		var want []row
		healthy := 0
		for _, s := range resp.JSON200.Servers {
			if string(s.Provider) != provider {
				continue
			}
			health := "unhealthy"
			if s.Healthy {
				health = "healthy"
				healthy++
			}
			want = append(want, row{Key: s.Url, Cells: map[string]cell{
				"url":          {Text: s.Url},
				"health":       {Text: health, Value: ptr(strconv.FormatBool(s.Healthy))},
				"failures":     {Text: itoa(s.ConsecutiveFailures), Value: ptr(itoa(s.ConsecutiveFailures))},
				"successes":    {Text: itoa(s.ConsecutiveSuccesses), Value: ptr(itoa(s.ConsecutiveSuccesses))},
				"last_check":   {Text: timeMsText(s.LastCheckMs), Value: ptr(itoa(s.LastCheckMs))},
				"last_failure": {Text: timeMsText(s.LastFailureMs), Value: ptr(itoa(s.LastFailureMs))},
				"models":       {Text: strings.Join(s.Models, ", ")},
				"draining":     drainingCell(s),
				"action":       {Text: drainAction(s)},
			}})
		}
		got := tb.rows(fmt.Sprintf(`section[aria-labelledby="provider-%s"] table`, provider))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s servers differ from the API (-want +got):\n%s", provider, diff)
		}
		summary := tb.text(fmt.Sprintf(`p.summary[data-provider=%q]`, provider))
		servers := fmt.Sprintf("%d servers", len(want))
		if len(want) == 1 {
			servers = "1 server"
		}
		if !strings.HasPrefix(summary, fmt.Sprintf("%s: %d healthy, %d unhealthy", servers, healthy, len(want)-healthy)) {
			t.Errorf("%s summary %q", provider, summary)
		}
	}
}

// checkRegistry picks the model with two pages of URLs and pages through it.
func (q *quietFleet) checkRegistry(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("registry")
	tb.setPaused(true)
	model := quietModels[3]
	since := tb.refreshedAt()
	tb.run("picking a model", chromedpSelect(`#registry-model`, model))
	tb.waitFresh("registry", since)
	for page := int64(1); page <= 2; page++ {
		if page == 2 {
			since := tb.refreshedAt()
			tb.click(`#registry-next`)
			tb.waitFresh("registry", since)
		}
		limit := int64(25)
		resp, err := q.client.GetRegistryWithResponse(t.Context(), model, &adminclient.GetRegistryParams{Page: &page, Limit: &limit})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("getting the registry: %v %v", err, resp)
		}
		var want []row
		for i, u := range resp.JSON200.Urls {
			n := itoa((page-1)*25 + int64(i) + 1)
			want = append(want, row{Key: u, Cells: map[string]cell{"n": {Text: n}, "url": {Text: u}}})
		}
		if diff := cmp.Diff(want, tb.rows(`#view table`)); diff != "" {
			t.Errorf("registry page %d differs from the API (-want +got):\n%s", page, diff)
		}
		if got, wantText := tb.text(`#registry-summary`), fmt.Sprintf("Page %d of 2 · %d URLs", page, resp.JSON200.Total); got != wantText {
			t.Errorf("registry summary %q, want %q", got, wantText)
		}
	}
	if resp, _ := q.client.GetRegistryWithResponse(t.Context(), model, nil); resp == nil || resp.JSON200 == nil || resp.JSON200.Total != 31 {
		t.Errorf("the seeded model should have 31 URLs: %v", resp)
	}
	var disabled []bool
	tb.eval(`[document.getElementById('registry-prev').disabled, document.getElementById('registry-next').disabled]`, &disabled)
	if diff := cmp.Diff([]bool{false, true}, disabled); diff != "" {
		t.Errorf("on the last page, previous and next disabled (-want +got):\n%s", diff)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("registry view: %v", missing)
	}
	tb.checkClean("registry view")
	tb.setPaused(false)
}

// drainingCell is what the draining column shows for s.
func drainingCell(s adminclient.Server) cell {
	text := "no"
	switch {
	case s.Draining && s.DrainReason != "":
		text = "draining: " + s.DrainReason
	case s.Draining:
		text = "draining"
	}
	return cell{Text: text, Value: ptr(strconv.FormatBool(s.Draining))}
}

// drainAction is the label of the drain button for s.
func drainAction(s adminclient.Server) string {
	if s.Draining {
		return "Undrain"
	}
	return "Drain"
}

// checkHostile shows markup from outside (a pod name, a user id, a drain
// reason, an audit target) and checks that it stays text and runs nothing.
func (q *quietFleet) checkHostile(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.setPaused(false)

	// First, that the page would notice: a string given to an HTML sink is
	// refused (Trusted Types) and reported as a CSP violation.
	var refused bool
	tb.eval(`(() => { try { document.createElement('div').innerHTML = '<b>x</b>'; return false; } catch (e) { return e instanceof TypeError; } })()`, &refused)
	var reported int
	tb.eval(`window.__cspViolations.splice(0).length`, &reported)
	if !refused || reported == 0 {
		t.Fatalf("an innerHTML assignment was refused: %v, reported: %d; the policy is not enforced", refused, reported)
	}
	tb.takeProblems() // the browser's own report of that violation

	name := q.hostilePod.Name
	tb.show("pods")
	var shown []string
	for _, r := range tb.rows(`#view table`) {
		if r.Key == q.hostilePod.ID {
			shown = append(shown, r.Cells["name"].Text, r.Cells["kind"].Text)
		}
	}
	if diff := cmp.Diff([]string{name, hostile}, shown); diff != "" {
		t.Errorf("the hostile pod's name and kind, as shown (-want +got):\n%s", diff)
	}
	tb.click(fmt.Sprintf(`#view tr[data-key=%q] td[data-col="name"] a`, q.hostilePod.ID))
	tb.waitFresh("pod", "0")
	if got := tb.text(`#view h1`); got != name {
		t.Errorf("the pod page's title %q, want %q", got, name)
	}
	tb.click(`#pod-restart`)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`, 5*time.Second)
	if got, want := tb.text(`#confirm-title`), "Restart pod "+name+"?"; got != want {
		t.Errorf("the confirmation says %q, want %q", got, want)
	}
	tb.click(`#confirm-cancel`)
	tb.waitJS("the confirmation to close", `!document.getElementById('confirm').open`, 5*time.Second)
	if n := q.runpod.Calls(standin.OpPodStop); n != 0 {
		t.Errorf("a cancelled restart stopped a pod (%d stop calls)", n)
	}

	// A user id: looked up, shown, its pins cleared behind a confirmation
	// naming it, and the clear in the audit trail with it as the target.
	tb.show("sessions")
	tb.run("looking up a user", typeInto(`#sessions-user`, hostile))
	since := tb.refreshedAt()
	tb.click(`#sessions-form button[type=submit]`)
	tb.waitFresh("sessions", since)
	if got, want := tb.text(`#sessions-summary`), hostile+" has 1 live session pin."; got != want {
		t.Errorf("sessions summary %q, want %q", got, want)
	}
	tb.click(`#sessions-clear`)
	tb.confirm("Clear the session pins of " + hostile + "?")
	tb.waitJS("the clear's notice", fmt.Sprintf(`document.getElementById('notice').textContent === %s`, jsString("Cleared 1 session pin of "+hostile+".")), 10*time.Second)
	tb.show("audit")
	if rows := tb.rows(`#view table`); len(rows) == 0 || rows[0].Cells["target"].Text != hostile || rows[0].Cells["action"].Text != "affinity.clear" {
		t.Errorf("the newest audit entry should be the clear of %q: %+v", hostile, rows[:min(1, len(rows))])
	}

	if n := tb.nodeCount(`img, script:not([src]), iframe, object, embed`); n != 0 {
		t.Errorf("%d elements made from markup in the page", n)
	}
	tb.checkClean("after showing hostile values")
}

// checkOutage stops Valkey under a live view: the refresh fails, the banner
// gives the error and its id, the last data stays, marked stale; when
// Valkey is back the view recovers by itself.
func (q *quietFleet) checkOutage(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.setPaused(false)
	tb.show("pods")
	before := len(tb.rows(`#view table`))
	q.valkey.Stop()
	tb.waitJS("the error banner", `!document.getElementById('banner').hidden`, 30*time.Second)
	if got := tb.text(`#banner-message`); got != "valkey unavailable" {
		t.Errorf("the banner says %q, want the API's error %q", got, "valkey unavailable")
	}
	if id := tb.text(`#banner-id`); len(id) < 8 {
		t.Errorf("the banner's error id %q", id)
	}
	var stale bool
	tb.eval(`document.getElementById('view').classList.contains('stale')`, &stale)
	if !stale {
		t.Error("the view is not marked stale")
	}
	if got := tb.text(`#updated`); !strings.HasPrefix(got, "Stale: last updated ") {
		t.Errorf("the status line says %q", got)
	}
	if after := len(tb.rows(`#view table`)); after != before || before == 0 {
		t.Errorf("%d rows shown before the outage, %d during it: the last data must stay", before, after)
	}
	tb.screenshot("stale")
	expectOnly503(t, tb.takeProblems())

	q.valkey.Start()
	tb.waitJS("the view to recover", `document.getElementById('banner').hidden && !document.getElementById('view').classList.contains('stale')`, 30*time.Second)
	if got := tb.text(`#updated`); !strings.HasPrefix(got, "Updated ") {
		t.Errorf("after recovery the status line says %q", got)
	}
	expectOnly503(t, tb.takeProblems())
	tb.checkClean("after recovery")
}

// expectOnly503 fails on any problem other than the browser's note of a
// failed request answered 503.
func expectOnly503(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		if !strings.Contains(p, "status of 503") {
			t.Errorf("during the outage: %s", p)
		}
	}
}

// checkOverview compares the fleet summary and the affinity rates.
func (q *quietFleet) checkOverview(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("overview")
	tb.setPaused(true)
	tb.refreshNow("overview")
	sum, err := q.client.GetFleetSummaryWithResponse(t.Context())
	if err != nil || sum.JSON200 == nil {
		t.Fatalf("getting the fleet summary: %v %v", err, sum)
	}
	aff, err := q.client.GetAffinityMetricsWithResponse(t.Context())
	if err != nil || aff.JSON200 == nil {
		t.Fatalf("getting the affinity metrics: %v %v", err, aff)
	}
	checkOverview(t, tb, sum.JSON200, aff.JSON200)
	s := sum.JSON200
	if s.Inflight != 4 || s.Requests5m != 6 || s.Pods.Total != 7 {
		t.Errorf("the seeded fleet: %d in flight, %d requests in 5 min, %d pods; want 4, 6, 7", s.Inflight, s.Requests5m, s.Pods.Total)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("overview: %v", missing)
	}
	tb.checkClean("overview")
	tb.setPaused(false)
}

// checkOverview compares the overview on the page with a fleet summary and
// affinity metrics from the API.
func checkOverview(t testing.TB, tb *tab, s *adminclient.FleetSummary, aff *adminclient.AffinityMetrics) {
	t.Helper()
	var stats map[string]cell
	tb.eval(`Object.fromEntries([...document.querySelectorAll('#view .stat')].map((el) => [el.dataset.stat, {text: el.querySelector('.stat-value').textContent, value: el.querySelector('.stat-value').dataset.value}]))`, &stats)
	money := func(x float64) string { return fmt.Sprintf("$%.2f/h", x) }
	float := func(x float64) *string { return ptr(strconv.FormatFloat(x, 'f', -1, 64)) }
	want := map[string]cell{
		"pods":        {Text: itoa(s.Pods.Total), Value: ptr(itoa(s.Pods.Total))},
		"cost":        {Text: money(s.CostPerHr), Value: float(s.CostPerHr)},
		"idle":        {Text: itoa(s.Idle.Pods), Value: ptr(itoa(s.Idle.Pods))},
		"inflight":    {Text: itoa(s.Inflight), Value: ptr(itoa(s.Inflight))},
		"requests_5m": {Text: itoa(s.Requests5m), Value: ptr(itoa(s.Requests5m))},
	}
	if diff := cmp.Diff(want, stats); diff != "" {
		t.Errorf("the summary's figures differ from the API (-want +got):\n%s", diff)
	}
	hint := fmt.Sprintf("%s idle · no request for %d min", money(s.Idle.CostPerHr), s.Idle.IdleAfterMinutes)
	if got := tb.text(`[data-stat="idle"] .stat-hint`); got != hint {
		t.Errorf("idle pods' hint %q, want %q", got, hint)
	}

	var byStatus []row
	for _, k := range slices.Sorted(maps.Keys(s.Pods.ByStatus)) {
		n := itoa(s.Pods.ByStatus[k])
		byStatus = append(byStatus, row{Key: k, Cells: map[string]cell{"status": {Text: k}, "pods": {Text: n, Value: ptr(n)}}})
	}
	var providers []row
	for _, p := range s.Providers {
		c := map[string]cell{"name": {Text: p.Name}}
		for k, v := range map[string]int64{"servers": p.Servers, "healthy": p.Healthy, "unhealthy": p.Unhealthy, "draining": p.Draining} {
			c[k] = cell{Text: itoa(v), Value: ptr(itoa(v))}
		}
		providers = append(providers, row{Key: p.Name, Cells: c})
	}
	var affinity []row
	for _, p := range aff.Providers {
		total := p.SessionHitCount + p.SessionMissCount + p.FallbackCount
		rate := func(n int64) string {
			if total == 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
		}
		c := map[string]cell{
			"name": {Text: p.Name}, "hit_rate": {Text: rate(p.SessionHitCount)},
			"miss_rate": {Text: rate(p.SessionMissCount)}, "fallback_rate": {Text: rate(p.FallbackCount)},
		}
		for k, v := range map[string]int64{"session_hit_count": p.SessionHitCount, "session_miss_count": p.SessionMissCount, "fallback_count": p.FallbackCount, "ttl_minutes": p.TtlMinutes} {
			c[k] = cell{Text: itoa(v), Value: ptr(itoa(v))}
		}
		affinity = append(affinity, row{Key: p.Name, Cells: c})
	}
	for _, c := range []struct {
		caption string
		want    []row
	}{{"Pods by status", byStatus}, {"Servers per provider", providers}, {"Session affinity per provider", affinity}} {
		got := tb.rows(fmt.Sprintf(`#view .table-wrap[aria-label=%q] table`, c.caption))
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s differs from the API (-want +got):\n%s", c.caption, diff)
		}
	}
}

// checkSessions looks a user up and compares their pins with the API.
func (q *quietFleet) checkSessions(t *testing.T, tb *tab, user string) {
	defer tb.use(t)()
	tb.show("sessions")
	tb.run("typing the user id", typeInto(`#sessions-user`, user))
	since := tb.refreshedAt()
	tb.click(`#sessions-form button[type=submit]`)
	tb.waitFresh("sessions", since)
	resp, err := q.client.GetUserSessionsWithResponse(t.Context(), user)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("getting the sessions: %v %v", err, resp)
	}
	var want []row
	for _, s := range resp.JSON200.Sessions {
		want = append(want, row{Key: string(s.Provider) + "\x00" + s.ModelId, Cells: map[string]cell{
			"provider": {Text: string(s.Provider)}, "model": {Text: s.ModelId}, "url": {Text: s.Url},
			"expires": {Text: s.ExpiresAt.UTC().Format("2006-01-02 15:04:05") + "Z"},
		}})
	}
	if diff := cmp.Diff(want, tb.rows(`#view table`)); diff != "" {
		t.Errorf("the sessions of %s differ from the API (-want +got):\n%s", user, diff)
	}
	if len(want) != 2 {
		t.Errorf("%s has %d pins, want the 2 seeded", user, len(want))
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("sessions view: %v", missing)
	}
	tb.checkClean("sessions view")
}

// checkAudit writes more entries than a page holds and pages through the
// trail in both directions, comparing each page with the API.
func (q *quietFleet) checkAudit(t *testing.T, tb *tab) {
	defer tb.use(t)()
	for i := range 30 {
		body := adminclient.ClearAffinityJSONRequestBody{UserId: fmt.Sprintf("usr_audit_%02d", i)}
		if resp, err := q.client.ClearAffinityWithResponse(t.Context(), body); err != nil || resp.JSON200 == nil {
			t.Fatalf("clearing: %v %v", err, resp)
		}
	}
	tb.show("audit")
	tb.setPaused(true)
	tb.refreshNow("audit")
	limit := int64(25)
	first, err := q.client.ListAuditWithResponse(t.Context(), &adminclient.ListAuditParams{Limit: &limit})
	if err != nil || first.JSON200 == nil {
		t.Fatalf("listing the audit trail: %v %v", err, first)
	}
	second, err := q.client.ListAuditWithResponse(t.Context(), &adminclient.ListAuditParams{Limit: &limit, Before: &first.JSON200.Next})
	if err != nil || second.JSON200 == nil {
		t.Fatalf("listing the audit trail: %v %v", err, second)
	}
	compare := func(page string, p *adminclient.AuditPage) {
		t.Helper()
		if diff := cmp.Diff(auditRows(p.Entries), tb.rows(`#view table`)); diff != "" {
			t.Errorf("audit %s differs from the API (-want +got):\n%s", page, diff)
		}
	}
	compare("page 1", first.JSON200)
	since := tb.refreshedAt()
	tb.click(`#audit-older`)
	tb.waitFresh("audit", since)
	compare("page 2", second.JSON200)
	if second.JSON200.Next == "" {
		var older bool
		tb.eval(`document.getElementById('audit-older').disabled`, &older)
		if !older {
			t.Error("on the last page Older is enabled")
		}
	}
	since = tb.refreshedAt()
	tb.click(`#audit-newer`)
	tb.waitFresh("audit", since)
	compare("page 1 again", first.JSON200)
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("audit view: %v", missing)
	}
	tb.checkClean("audit view")
	tb.setPaused(false)
}

// auditRows is how the audit view shows entries.
func auditRows(entries []adminclient.AuditEntry) []row {
	var out []row
	for _, e := range entries {
		target := e.Target
		if target == "" {
			target = "—"
		}
		out = append(out, row{Key: e.Id, Cells: map[string]cell{
			"at":      {Text: e.At.UTC().Format("2006-01-02 15:04:05") + "Z", Value: ptr(e.At.UTC().Format(time.RFC3339Nano))},
			"user":    {Text: e.UserId},
			"action":  {Text: e.Action},
			"target":  {Text: target},
			"outcome": {Text: e.Outcome},
		}})
	}
	return out
}
