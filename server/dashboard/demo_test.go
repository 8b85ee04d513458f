package dashboard_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/demo"
)

// TestDashboardDemoFleet runs the dashboard against the living demo fleet of
// `make run`: signing in and out, every view compared with the API on what
// stays put while traffic flows, a restart and a drain through the UI with
// their confirmations, the keyboard, a phone's screen and the dark scheme. It
// saves a screenshot of each view.
func TestDashboardDemoFleet(t *testing.T) {
	d := startDemo(t)

	t.Run("sign in and out", func(t *testing.T) { checkSignIn(t, d) })

	tb := openTab(t, d.base)
	tb.open()
	tb.signInToken(adminToken)
	tb.waitSignedIn()
	t.Run("overview", func(t *testing.T) { d.checkOverview(t, tb) })
	t.Run("pods", func(t *testing.T) { d.checkPods(t, tb) })
	t.Run("pod page", func(t *testing.T) { d.checkPodPage(t, tb) })
	t.Run("servers", func(t *testing.T) { d.checkServers(t, tb) })
	t.Run("registry", func(t *testing.T) { d.checkRegistry(t, tb) })
	t.Run("sessions", func(t *testing.T) { d.checkSessions(t, tb) })
	t.Run("restart", func(t *testing.T) { d.checkRestart(t, tb) })
	t.Run("keyboard", func(t *testing.T) { d.checkKeyboard(t, tb) })
	t.Run("drain a server", func(t *testing.T) { d.checkServerDrain(t, tb) })
	t.Run("drain a pod", func(t *testing.T) { d.checkPodDrain(t, tb) })
	t.Run("audit", func(t *testing.T) { d.checkAudit(t, tb) })
	t.Run("phone and dark", func(t *testing.T) { d.checkPhoneAndDark(t, tb) })
}

// checkSignIn signs in with a wrong token, a token without the role and the
// right one; a 401 later returns to sign-in with the reason; signing out
// forgets the credential.
func checkSignIn(t *testing.T, d *replica) {
	tb := openTab(t, d.base)
	tb.open()
	tb.screenshot("signin")
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("sign-in form: %v", missing)
	}

	tb.signInToken("tok-wrong-0000000000")
	tb.waitJS("the refusal", `document.getElementById('signin-error').textContent.startsWith('Sign-in refused')`, 10*time.Second)
	if got := tb.text(`#signin-error`); !strings.Contains(got, "invalid credentials") {
		t.Errorf("a wrong token: %q", got)
	}
	tb.signInToken(viewerToken)
	tb.waitJS("the refusal", `document.getElementById('signin-error').textContent.includes('ai_admin')`, 10*time.Second)
	var stored int
	tb.eval(`sessionStorage.length + localStorage.length`, &stored)
	if stored != 0 {
		t.Errorf("a refused credential was stored (%d entries)", stored)
	}

	tb.signInToken(adminToken)
	tb.waitSignedIn()
	tb.waitFresh("overview", "0")
	var where struct {
		Session string `json:"session"`
		Local   int    `json:"local"`
		URL     string `json:"url"`
		Cookie  string `json:"cookie"`
	}
	tb.eval(`({session: sessionStorage.getItem('aiadmin.credential') || '', local: localStorage.length, url: location.href, cookie: document.cookie})`, &where)
	if !strings.Contains(where.Session, adminToken) || where.Local != 0 || strings.Contains(where.URL, adminToken) || where.Cookie != "" {
		t.Errorf("the credential must live in sessionStorage only: %+v", where)
	}
	// A reload keeps the tab signed in.
	tb.run("reloading", chromedp.Reload())
	tb.waitSignedIn()
	tb.waitFresh("overview", "0")

	// The server stops accepting the credential: the next refresh signs out,
	// saying why.
	tb.eval(`sessionStorage.setItem('aiadmin.credential', JSON.stringify({kind: 'bearer', token: 'tok-revoked-0000000'})), true`, nil)
	tb.click(`#refresh`)
	tb.waitJS("signing out on a 401", `!document.getElementById('signin').hidden`, 10*time.Second)
	if got := tb.text(`#signin-error`); !strings.HasPrefix(got, "Signed out: the server refused the credential (invalid credentials") {
		t.Errorf("after a 401: %q", got)
	}
	tb.eval(`sessionStorage.length`, &stored)
	if stored != 0 {
		t.Error("the refused credential was kept")
	}

	tb.signInToken(adminToken)
	tb.waitSignedIn()
	tb.click(`#signout`)
	tb.waitJS("signing out", `!document.getElementById('signin').hidden`, 5*time.Second)
	tb.eval(`sessionStorage.length`, &stored)
	if stored != 0 {
		t.Error("signing out kept the credential")
	}
	for _, p := range tb.takeProblems() {
		if !strings.Contains(p, "status of 401") && !strings.Contains(p, "status of 403") {
			t.Errorf("signing in: %s", p)
		}
	}
	tb.checkClean("sign-in")
}

// listPods is every pod of the fleet, from the API.
func (d *replica) listPods(t *testing.T) []adminclient.Pod {
	t.Helper()
	limit := int64(100)
	resp, err := d.client.ListPodsWithResponse(t.Context(), &adminclient.ListPodsParams{Limit: &limit})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("listing pods: %v %v", err, resp)
	}
	return resp.JSON200.Pods
}

// pick is the first running pod whose URL is in a server pool, after skip
// such pods.
func pick(t *testing.T, pods []adminclient.Pod, skip int) adminclient.Pod {
	t.Helper()
	for _, p := range pods {
		if p.DesiredStatus == "RUNNING" && p.Healthy != nil {
			if skip == 0 {
				return p
			}
			skip--
		}
	}
	t.Fatal("no running pod in a server pool")
	return adminclient.Pod{}
}

// checkPods compares what stays put while traffic flows: which pods there
// are and their names, kinds, costs, GPUs and data centres.
func (d *replica) checkPods(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("pods")
	var want, got []string
	for _, p := range d.listPods(t) {
		want = append(want, strings.Join([]string{p.Id, p.Name, p.Kind, fmt.Sprintf("$%.2f/h", p.CostPerHr), p.GpuTypeId, p.DataCenterId}, " | "))
	}
	for _, r := range tb.rows(`#view table`) {
		c := r.Cells
		got = append(got, strings.Join([]string{r.Key, c["name"].Text, c["kind"].Text, c["cost"].Text, c["gpu"].Text, c["dc"].Text}, " | "))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the pods table differs from the API (-want +got):\n%s", diff)
	}
	if got := tb.text(`#pods-summary`); got != fmt.Sprintf("%d pods", len(want)) {
		t.Errorf("pods summary %q", got)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("pods view: %v", missing)
	}
	tb.screenshot("pods")
	tb.checkClean("pods view")
}

// checkPodPage opens a busy pod's page and lets its sparklines gather a few
// samples.
func (d *replica) checkPodPage(t *testing.T, tb *tab) {
	defer tb.use(t)()
	p := pick(t, d.listPods(t), 0)
	tb.click(fmt.Sprintf(`#view tr[data-key=%q] td[data-col="name"] a`, p.Id))
	tb.waitFresh("pod", "0")
	for range 5 {
		tb.refreshNow("pod")
	}
	var fields map[string]string
	tb.eval(`Object.fromEntries([...document.querySelectorAll('#view dd[data-field]')].map((dd) => [dd.dataset.field, dd.textContent]))`, &fields)
	got := []string{tb.text(`#view h1`), fields["id"], fields["url"], fields["models"], fields["cost"], fields["gpu"]}
	want := []string{p.Name, p.Id, p.Url, strings.Join(p.Models, ", "), fmt.Sprintf("$%.2f/h", p.CostPerHr), p.GpuTypeId}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the pod page differs from the API (-want +got):\n%s", diff)
	}
	var label string
	tb.eval(`document.querySelector('#spark-inflight').previousElementSibling.getAttribute('aria-label')`, &label)
	if !strings.Contains(label, "over 6 samples") {
		t.Errorf("the in-flight sparkline after six refreshes: %q", label)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("pod page: %v", missing)
	}
	tb.screenshot("pod")
	tb.checkClean("pod page")
}

// checkServers compares each provider's servers and their models.
func (d *replica) checkServers(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("servers")
	servers := d.listServers(t)
	for _, provider := range []string{"vllm", "sglang", "speaches"} {
		var want, got []string
		for _, s := range servers {
			if string(s.Provider) == provider {
				want = append(want, s.Url+" | "+strings.Join(s.Models, ", "))
			}
		}
		for _, r := range tb.rows(fmt.Sprintf(`section[aria-labelledby="provider-%s"] table`, provider)) {
			got = append(got, r.Cells["url"].Text+" | "+r.Cells["models"].Text)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s servers differ from the API (-want +got):\n%s", provider, diff)
		}
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("servers view: %v", missing)
	}
	tb.screenshot("servers")
	tb.checkClean("servers view")
}

// listServers is every server of the pool, from the API.
func (d *replica) listServers(t *testing.T) []adminclient.Server {
	t.Helper()
	var all []adminclient.Server
	limit := int64(100)
	for page := int64(1); ; page++ {
		resp, err := d.client.ListServersWithResponse(t.Context(), &adminclient.ListServersParams{Page: &page, Limit: &limit})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("listing servers: %v %v", err, resp)
		}
		all = append(all, resp.JSON200.Servers...)
		if len(resp.JSON200.Servers) == 0 || int64(len(all)) >= resp.JSON200.Total {
			return all
		}
	}
}

// checkRegistry compares the first page of the first model's URLs.
func (d *replica) checkRegistry(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("registry")
	var model string
	tb.eval(`document.getElementById('registry-model').value`, &model)
	var models []string
	for _, s := range d.listServers(t) {
		models = append(models, s.Models...)
	}
	slices.Sort(models)
	if len(models) == 0 || model != models[0] {
		t.Fatalf("the registry view starts at model %q, want the first of the pool's, %v", model, models[:min(1, len(models))])
	}
	limit := int64(25)
	resp, err := d.client.GetRegistryWithResponse(t.Context(), model, &adminclient.GetRegistryParams{Limit: &limit})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("getting the registry: %v %v", err, resp)
	}
	var got []string
	for _, r := range tb.rows(`#view table`) {
		got = append(got, r.Cells["url"].Text)
	}
	if diff := cmp.Diff(resp.JSON200.Urls, got); diff != "" {
		t.Errorf("registry of %s differs from the API (-want +got):\n%s", model, diff)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("registry view: %v", missing)
	}
	tb.screenshot("registry")
	tb.checkClean("registry view")
}

// checkRestart restarts a pod from its page, through the confirmation, and
// checks through the API that RunPod restarted it.
func (d *replica) checkRestart(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("pods")
	p := pick(t, d.listPods(t), 1)
	before := d.podDetail(t, p.Id)
	tb.click(fmt.Sprintf(`#view tr[data-key=%q] td[data-col="name"] a`, p.Id))
	tb.waitFresh("pod", "0")
	tb.click(`#pod-restart`)
	tb.confirm(p.Name)
	tb.waitJS("the restart's notice", fmt.Sprintf(`document.getElementById('notice').textContent === %s`, jsString("Restart of pod "+p.Name+" initiated.")), 30*time.Second)
	after := d.podDetail(t, p.Id)
	if after.LastStartedAt == before.LastStartedAt {
		t.Errorf("the pod's last start is still %q after the restart", before.LastStartedAt)
	}
	tb.checkClean("restart")
}

// podDetail is one pod, from the API.
func (d *replica) podDetail(t *testing.T, id string) adminclient.PodDetail {
	t.Helper()
	resp, err := d.client.GetPodWithResponse(t.Context(), id)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("getting pod %s: %v %v", id, err, resp)
	}
	return *resp.JSON200
}

// checkKeyboard opens the restart confirmation with the keyboard, sees the
// focus on Cancel with a visible ring, and leaves with Escape: the focus
// returns and nothing restarts.
func (d *replica) checkKeyboard(t *testing.T, tb *tab) {
	defer tb.use(t)()
	id := strings.TrimPrefix(tb.hash(), "#/pods/")
	before := d.podDetail(t, id)
	tb.run("focusing restart", chromedp.Focus(chromedp.CSS(`#pod-restart`)), chromedp.KeyEvent(kb.Enter))
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`, 5*time.Second)
	var focus struct {
		ID      string `json:"id"`
		Outline string `json:"outline"`
	}
	tb.eval(`({id: document.activeElement.id, outline: getComputedStyle(document.activeElement).outlineStyle})`, &focus)
	if focus.ID != "confirm-cancel" || focus.Outline == "none" {
		t.Errorf("in the confirmation the focus is on %q with outline %q, want Cancel with a visible ring", focus.ID, focus.Outline)
	}
	tb.run("pressing Escape", chromedp.KeyEvent(kb.Escape))
	tb.waitJS("the confirmation to close", `!document.getElementById('confirm').open && document.activeElement.id === 'pod-restart'`, 5*time.Second)
	if after := d.podDetail(t, id); after.LastStartedAt != before.LastStartedAt {
		t.Errorf("Escape restarted the pod: last start %q, then %q", before.LastStartedAt, after.LastStartedAt)
	}

	// Tab from the top of the page reaches the navigation with a visible ring.
	tb.run("tabbing from the top", chromedp.Click(chromedp.CSS(`.brand`)), chromedp.KeyEvent(kb.Tab))
	tb.eval(`({id: document.activeElement.textContent, outline: getComputedStyle(document.activeElement).outlineStyle})`, &focus)
	if focus.ID != "Overview" || focus.Outline == "none" {
		t.Errorf("the first Tab focuses %q with outline %q, want the Overview link with a visible ring", focus.ID, focus.Outline)
	}
	tb.checkClean("keyboard")
}

// hash is the page's location hash.
func (tb *tab) hash() string {
	tb.t.Helper()
	var h string
	tb.eval(`location.hash`, &h)
	return h
}

// checkPhoneAndDark shows the pods on a phone's screen, where the page must
// not scroll sideways (the table scrolls inside its frame), and the
// overview in the dark scheme.
func (d *replica) checkPhoneAndDark(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.run("emulating a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	tb.show("pods")
	var widths []int
	tb.eval(`[document.documentElement.scrollWidth, window.innerWidth]`, &widths)
	if len(widths) != 2 || widths[0] > widths[1] {
		t.Errorf("on a phone the page is %v wide (scroll width, window width)", widths)
	}
	tb.screenshot("pods-phone")
	tb.run("back to a laptop", chromedp.ResetViewport())

	dark := func(on bool) {
		value := "light"
		if on {
			value = "dark"
		}
		tb.run("choosing the "+value+" scheme", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}},
			})
			return err
		}))
	}
	dark(true)
	tb.show("pods")
	var bg string
	tb.eval(`getComputedStyle(document.body).backgroundColor`, &bg)
	if bg != "rgb(15, 18, 22)" {
		t.Errorf("in the dark scheme the page's background is %s", bg)
	}
	tb.screenshot("pods-dark")
	dark(false)
	tb.checkClean("phone and dark")
}

// atOneMoment compares what the page shows with what the API answers while
// traffic changes both: it pauses the page, refreshes it, reads the API and
// compares, and tries again (at most 5 times) when they differ, as a
// refresh and an API call a moment apart may see different traffic.
func atOneMoment(t *testing.T, tb *tab, view string, compare func() string) {
	t.Helper()
	tb.setPaused(true)
	defer tb.setPaused(false)
	var diff string
	for range 5 {
		tb.refreshNow(view)
		if diff = compare(); diff == "" {
			return
		}
	}
	t.Errorf("the %s view differs from the API (-want +got):\n%s", view, diff)
}

// checkOverview compares the overview with the fleet summary and the
// affinity metrics.
func (d *replica) checkOverview(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("overview")
	atOneMoment(t, tb, "overview", func() string {
		sum, err := d.client.GetFleetSummaryWithResponse(t.Context())
		if err != nil || sum.JSON200 == nil {
			t.Fatalf("getting the fleet summary: %v %v", err, sum)
		}
		aff, err := d.client.GetAffinityMetricsWithResponse(t.Context())
		if err != nil || aff.JSON200 == nil {
			t.Fatalf("getting the affinity metrics: %v %v", err, aff)
		}
		probe := &recorder{}
		checkOverview(probe, tb, sum.JSON200, aff.JSON200)
		return probe.String()
	})
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("overview: %v", missing)
	}
	tb.screenshot("overview")
	tb.checkClean("overview")
}

// checkSessions looks up the demo's pinned user and compares their pins.
func (d *replica) checkSessions(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("sessions")
	tb.run("typing the user id", typeInto(`#sessions-user`, demo.DemoUser))
	since := tb.refreshedAt()
	tb.click(`#sessions-form button[type=submit]`)
	tb.waitFresh("sessions", since)
	atOneMoment(t, tb, "sessions", func() string {
		resp, err := d.client.GetUserSessionsWithResponse(t.Context(), demo.DemoUser)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("getting the sessions: %v %v", err, resp)
		}
		var want, got []string
		for _, s := range resp.JSON200.Sessions {
			want = append(want, strings.Join([]string{string(s.Provider), s.ModelId, s.Url, s.ExpiresAt.UTC().Format("2006-01-02 15:04:05") + "Z"}, " | "))
		}
		for _, r := range tb.rows(`#view table`) {
			c := r.Cells
			got = append(got, strings.Join([]string{c["provider"].Text, c["model"].Text, c["url"].Text, c["expires"].Text}, " | "))
		}
		return cmp.Diff(want, got)
	})
	if n := len(tb.rows(`#view table`)); n == 0 {
		t.Errorf("the demo user %s shows no pin", demo.DemoUser)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("sessions view: %v", missing)
	}
	tb.screenshot("sessions")
	tb.checkClean("sessions view")
}

// checkServerDrain drains a server from the servers view with a reason,
// checks the drain through the API and on the page, and undrains it.
func (d *replica) checkServerDrain(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("servers")
	var target adminclient.Server
	for _, s := range d.listServers(t) {
		if s.Provider == "sglang" && s.Healthy && !s.Draining {
			target = s
			break
		}
	}
	if target.Url == "" {
		t.Fatal("no healthy sglang server to drain")
	}
	button := fmt.Sprintf(`section[aria-labelledby="provider-sglang"] button[data-url=%q]`, target.Url)
	const reason = "kernel upgrade"
	tb.click(button)
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`, 5*time.Second)
	tb.run("giving a reason", chromedp.SendKeys(chromedp.CSS(`#confirm-reason`), reason))
	tb.confirm(target.Url)
	tb.waitJS("the drain's notice", fmt.Sprintf(`document.getElementById('notice').textContent === %s`, jsString("Server "+target.Url+" is draining.")), 10*time.Second)
	if s := d.findServer(t, target.Url); !s.Draining || s.DrainReason != reason {
		t.Errorf("after the drain the API lists %+v", s)
	}
	row := fmt.Sprintf(`section[aria-labelledby="provider-sglang"] tr[data-key=%q]`, target.Url)
	tb.waitJS("the row to show the drain", fmt.Sprintf(`document.querySelector(%s).textContent === %s && document.querySelector(%s).textContent === 'Undrain'`,
		jsString(row+` td[data-col="draining"]`), jsString("draining: "+reason), jsString(button)), 10*time.Second)
	tb.screenshot("servers-draining")
	tb.click(button)
	tb.confirm("Undrain server " + target.Url)
	tb.waitJS("the undrain's notice", fmt.Sprintf(`document.getElementById('notice').textContent === %s`, jsString("Server "+target.Url+" is back in rotation.")), 10*time.Second)
	if s := d.findServer(t, target.Url); s.Draining {
		t.Errorf("after the undrain the API lists %+v", s)
	}
	tb.waitJS("the row to show the undrain", fmt.Sprintf(`document.querySelector(%s).textContent === 'no' && document.querySelector(%s).textContent === 'Drain'`,
		jsString(row+` td[data-col="draining"]`), jsString(button)), 10*time.Second)
	tb.checkClean("drain a server")
}

// findServer is one server of the pool, from the API.
func (d *replica) findServer(t *testing.T, url string) adminclient.Server {
	t.Helper()
	for _, s := range d.listServers(t) {
		if s.Url == url {
			return s
		}
	}
	t.Fatalf("server %s is not listed", url)
	return adminclient.Server{}
}

// checkPodDrain drains a pod from its page and undrains it, checking each
// through the API.
func (d *replica) checkPodDrain(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("pods")
	p := pick(t, d.listPods(t), 2)
	tb.click(fmt.Sprintf(`#view tr[data-key=%q] td[data-col="name"] a`, p.Id))
	tb.waitFresh("pod", "0")
	tb.click(`#pod-drain`)
	tb.confirm("Drain pod " + p.Name)
	tb.waitJS("the undrain button", `!document.getElementById('pod-undrain').hidden && document.getElementById('pod-drain').hidden`, 10*time.Second)
	if got := d.podDetail(t, p.Id); !got.Draining {
		t.Errorf("after the drain the API says the pod is not draining")
	}
	if got := tb.text(`#view dd[data-field="draining"]`); got != "draining" {
		t.Errorf("the pod page says draining: %q", got)
	}
	tb.click(`#pod-undrain`)
	tb.confirm("Undrain pod " + p.Name)
	tb.waitJS("the drain button", `document.getElementById('pod-undrain').hidden && !document.getElementById('pod-drain').hidden`, 10*time.Second)
	if got := d.podDetail(t, p.Id); got.Draining {
		t.Errorf("after the undrain the API says the pod is draining")
	}
	tb.checkClean("drain a pod")
}

// checkAudit compares the trail's first page, which now holds the restart,
// the drains and the undrains done through the page.
func (d *replica) checkAudit(t *testing.T, tb *tab) {
	defer tb.use(t)()
	tb.show("audit")
	limit := int64(25)
	resp, err := d.client.ListAuditWithResponse(t.Context(), &adminclient.ListAuditParams{Limit: &limit})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("listing the audit trail: %v %v", err, resp)
	}
	if diff := cmp.Diff(auditRows(resp.JSON200.Entries), tb.rows(`#view table`)); diff != "" {
		t.Errorf("the audit trail differs from the API (-want +got):\n%s", diff)
	}
	var actions []string
	for _, e := range resp.JSON200.Entries {
		actions = append(actions, e.Action+" "+e.Outcome)
	}
	if !slices.Contains(actions, "pod.restart initiated") || !slices.Contains(actions, "server.drain drained") || !slices.Contains(actions, "server.undrain undrained") {
		t.Errorf("the trail lacks the page's actions: %v", actions)
	}
	if missing := tb.accessibility(); len(missing) > 0 {
		t.Errorf("audit view: %v", missing)
	}
	tb.screenshot("audit")
	tb.checkClean("audit view")
}

// recorder collects the failures of a comparison that may be retried.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) String() string { return strings.Join(r.msgs, "\n") }
