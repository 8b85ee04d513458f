package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// updateScreenshots also writes each view's screenshot into screenshots/,
// the folder the README shows (`make screenshots`).
var updateScreenshots = flag.Bool("update-screenshots", false, "write the views' screenshots into screenshots/ too")

// One browser serves every test of the package, each test in tabs of its own.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserErr    error
	browserCancel = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserCancel()
	os.Exit(code)
}

// browserBinary finds a Chromium: Debian's chromium-headless-shell, which
// `make deps` installs, or a full chromium.
func browserBinary() (string, error) {
	for _, name := range []string{"chromium-headless-shell", "chromium", "chromium-browser", "headless-shell", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium in PATH (chromium-headless-shell or chromium): run `make deps`, which installs Debian's chromium-headless-shell with apt-get")
}

// browser starts the shared browser once, with a fresh profile, and fails
// the test when it cannot.
func browser(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		bin, err := browserBinary()
		if err != nil {
			browserErr = err
			return
		}
		dir, err := os.MkdirTemp("", "aiadmin-browser-")
		if err != nil {
			browserErr = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(bin),
			chromedp.UserDataDir(dir),
			// Tests may run as root (CI containers), where Chromium's sandbox
			// cannot start; the pages are our own, on loopback.
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.WindowSize(1280, 860),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		// The first call binds the browser's life to its context, so it gets
		// one without a deadline.
		if err := chromedp.Do(bctx); err != nil {
			bcancel()
			acancel()
			_ = os.RemoveAll(dir)
			browserErr = fmt.Errorf("starting %s: %w (run `make deps` to install chromium-headless-shell)", bin, err)
			return
		}
		browserCtx = bctx
		browserCancel = func() {
			bcancel()
			acancel()
			_ = os.RemoveAll(dir)
		}
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return browserCtx
}

// cspListener records Content-Security-Policy violations in the page, before
// any of its own scripts run.
const cspListener = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`

// tab is one browser tab on a dashboard, recording what went wrong in it.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string // console errors, uncaught exceptions, error log entries
	dialogs  []string // alert, confirm or prompt the page opened
}

// openTab opens a new tab of the shared browser for the dashboard at base
// (http://host:port), closed when the test ends.
func openTab(t *testing.T, base string) *tab {
	t.Helper()
	tb := &tab{t: t, base: base}
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithListener(tb.onEvent))
	t.Cleanup(cancel)
	tb.ctx = ctx
	// The first call opens the tab and binds it to ctx, so no deadline here.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener}); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tb
}

func (tb *tab) onEvent(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tb.problems = append(tb.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("uncaught exception: %s at %s:%d", msg, d.URL, d.LineNumber))
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
			tb.problems = append(tb.problems, fmt.Sprintf("log %s %s: %s %s", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL))
		}
	case *page.EventJavascriptDialogOpening:
		tb.dialogs = append(tb.dialogs, fmt.Sprintf("%s: %s", e.Type, e.Message))
		// A dialog blocks the page; dismiss it so the test can report it.
		// (A listener may run no command itself.)
		go func() {
			_, _ = chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	}
}

// takeProblems returns what went wrong so far, and forgets it.
func (tb *tab) takeProblems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	p := tb.problems
	tb.problems = nil
	return p
}

// checkClean fails the test when the page logged an error, threw, opened a
// dialog or violated its Content-Security-Policy since the last check.
func (tb *tab) checkClean(where string) {
	tb.t.Helper()
	var csp []string
	tb.eval(`(() => { const v = window.__cspViolations || []; window.__cspViolations = []; return v; })()`, &csp)
	for _, p := range tb.takeProblems() {
		tb.t.Errorf("%s: %s", where, p)
	}
	for _, v := range csp {
		tb.t.Errorf("%s: CSP violation: %s", where, v)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, d := range tb.dialogs {
		tb.t.Errorf("%s: the page opened a dialog: %s", where, d)
	}
	tb.dialogs = nil
}

// run runs actions in the tab within 30 s, failing the test on an error.
func (tb *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v\nproblems in the page: %v", what, err, tb.takeProblems())
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value
// into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err == nil && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v\nproblems in the page: %v", firstLine(expr), err, tb.takeProblems())
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// waitJS waits until the expression is truthy, failing after timeout with
// what describe (another expression) says then.
func (tb *tab) waitJS(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		state, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`JSON.stringify({hash: location.hash, updated: document.getElementById('updated')?.textContent, banner: document.getElementById('banner')?.hidden ? '' : document.getElementById('banner')?.textContent, signin: document.getElementById('signin-error')?.textContent})`))
		tb.t.Fatalf("waiting for %s: %v\npage: %s\nproblems: %v", what, err, state, tb.takeProblems())
	}
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// open loads the dashboard.
func (tb *tab) open() {
	tb.t.Helper()
	tb.run("loading the dashboard", chromedp.Navigate(tb.base+"/ui/"), chromedp.WaitReady(chromedp.CSS("body")))
	tb.waitJS("the page to start", `!document.getElementById('signin').hidden || document.body.dataset.signedIn === 'true'`, 10*time.Second)
}

// signInToken signs in with a bearer token through the form.
func (tb *tab) signInToken(token string) {
	tb.t.Helper()
	tb.run("signing in with a token",
		chromedp.Click(chromedp.CSS(`#kind-bearer`)),
		typeInto(`#token`, ""),
		chromedp.SendKeys(chromedp.CSS(`#token`), token),
		chromedp.Click(chromedp.CSS(`#signin-submit`)),
	)
}

// signInKeyPair signs in with a key pair through the form.
func (tb *tab) signInKeyPair(key, secret string) {
	tb.t.Helper()
	tb.run("signing in with a key pair",
		chromedp.Click(chromedp.CSS(`#kind-keypair`)),
		chromedp.WaitVisible(chromedp.CSS(`#api-key`)),
		chromedp.SendKeys(chromedp.CSS(`#api-key`), key),
		chromedp.SendKeys(chromedp.CSS(`#api-secret`), secret),
		chromedp.Click(chromedp.CSS(`#signin-submit`)),
	)
}

// waitSignedIn waits until the dashboard shows a view with data.
func (tb *tab) waitSignedIn() {
	tb.t.Helper()
	tb.waitJS("signing in", `document.body.dataset.signedIn === 'true'`, 10*time.Second)
}

// show opens a view from the navigation, as an operator would, and waits
// for its first data.
func (tb *tab) show(view string) {
	tb.t.Helper()
	tb.run("opening "+view, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#nav a[data-view=%q]`, view))))
	tb.waitFresh(view, "0")
}

// refreshedAt is when the view last refreshed successfully (epoch ms as
// text, "" before the first).
func (tb *tab) refreshedAt() string {
	var at string
	tb.eval(`document.getElementById('updated').dataset.at || ''`, &at)
	return at
}

// waitFresh waits until view shows data from a refresh later than since.
func (tb *tab) waitFresh(view, since string) {
	tb.t.Helper()
	tb.waitJS(view+" to show fresh data", fmt.Sprintf(`document.getElementById('view').dataset.view === %s &&
		!document.getElementById('view').classList.contains('stale') &&
		Number(document.getElementById('updated').dataset.at || 0) > Number(%s)`, jsString(view), jsString(since)), 15*time.Second)
}

// refreshNow makes the view refresh at once and waits for its data.
func (tb *tab) refreshNow(view string) {
	tb.t.Helper()
	since := tb.refreshedAt()
	tb.run("refreshing", chromedp.Click(chromedp.CSS(`#refresh`)))
	tb.waitFresh(view, since)
}

// setPaused pauses or resumes the live refresh with the Pause button.
func (tb *tab) setPaused(paused bool) {
	tb.t.Helper()
	var pressed string
	tb.eval(`document.getElementById('pause').getAttribute('aria-pressed')`, &pressed)
	if (pressed == "true") != paused {
		tb.run("pressing pause", chromedp.Click(chromedp.CSS(`#pause`)))
	}
}

// screenshot saves the viewport as name.png in the test's artifact
// directory, and into screenshots/ with -update-screenshots.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("taking a screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tb.t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if *updateScreenshots {
		if err := os.MkdirAll("screenshots", 0o755); err != nil {
			tb.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("screenshots", name+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
}

// cell is one table cell as shown: its text and the API value it keeps in
// data-value, if any.
type cell struct {
	Text  string  `json:"text"`
	Value *string `json:"value"`
}

// row is one table row: its key (data-key) and its cells by column.
type row struct {
	Key   string          `json:"key"`
	Cells map[string]cell `json:"cells"`
}

// rows reads the rows of the tables matching selector, in order.
func (tb *tab) rows(selector string) []row {
	tb.t.Helper()
	var out []row
	tb.eval(fmt.Sprintf(`[...document.querySelectorAll(%s)].flatMap((t) => [...t.tBodies[0].rows]).map((tr) => ({
		key: tr.dataset.key,
		cells: Object.fromEntries([...tr.cells].map((td) => [td.dataset.col, {text: td.textContent, value: td.dataset.value ?? null}])),
	}))`, jsString(selector)), &out)
	return out
}

// text is the text of the first element matching selector.
func (tb *tab) text(selector string) string {
	tb.t.Helper()
	var s string
	tb.eval(fmt.Sprintf(`document.querySelector(%s)?.textContent ?? ''`, jsString(selector)), &s)
	return s
}

// click clicks the first element matching selector.
func (tb *tab) click(selector string) {
	tb.t.Helper()
	tb.run("clicking "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// confirm waits for the confirmation dialog, checks that its title names
// what will be acted on, and presses its confirm button.
func (tb *tab) confirm(wantInTitle string) {
	tb.t.Helper()
	tb.waitJS("the confirmation", `document.getElementById('confirm').open`, 5*time.Second)
	title := tb.text(`#confirm-title`)
	if !strings.Contains(title, wantInTitle) {
		tb.t.Errorf("the confirmation %q does not name %q", title, wantInTitle)
	}
	tb.click(`#confirm-ok`)
	tb.waitJS("the confirmation to close", `!document.getElementById('confirm').open`, 5*time.Second)
}

// accessibility checks that every control of the view has an accessible
// name and every table a caption; it returns what lacks one.
func (tb *tab) accessibility() []string {
	tb.t.Helper()
	var missing []string
	tb.eval(`(() => {
		const out = [];
		const visible = (el) => el.offsetParent !== null;
		for (const el of document.querySelectorAll('input, select')) {
			if (visible(el) && el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label')) out.push('unlabelled ' + el.outerHTML.slice(0, 80));
		}
		for (const el of document.querySelectorAll('button, a[href]')) {
			if (visible(el) && !(el.textContent.trim() || el.getAttribute('aria-label'))) out.push('nameless ' + el.outerHTML.slice(0, 80));
		}
		for (const t of document.querySelectorAll('table')) {
			if (!t.caption || !t.caption.textContent.trim()) out.push('table without caption');
			for (const th of t.tHead?.rows[0]?.cells ?? []) if (th.getAttribute('scope') !== 'col') out.push('header cell without scope');
		}
		return out;
	})()`, &missing)
	return missing
}

// nodeCount is how many elements match selector.
func (tb *tab) nodeCount(selector string) int {
	tb.t.Helper()
	var n int
	tb.eval(fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(selector)), &n)
	return n
}

// typeInto replaces the text of an input as typing would, firing its input
// events.
func typeInto(selector, text string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ''`, jsString(selector)))}
	if text != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS(selector), text))
	}
	steps = append(steps, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).dispatchEvent(new Event('input', {bubbles: true}))`, jsString(selector))))
	return chromedp.Steps(steps...)
}

// use makes the tab report to t (a subtest) until the returned func runs.
func (tb *tab) use(t *testing.T) (restore func()) {
	prev := tb.t
	tb.t = t
	return func() { tb.t = prev }
}

// chromedpSelect chooses the option of a select element with value, as a
// user would, firing its change event.
func chromedpSelect(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`%s option[value=%s]`, selector, jsString(value)))),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector(%s); s.value = %s; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, jsString(selector), jsString(value))),
	)
}
