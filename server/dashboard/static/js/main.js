// The dashboard's shell: sign-in and sign-out, the view router (#/pods,
// #/pods/ID, ...), the live refresh every 5 seconds (pausable), and the
// banner that reports a failed refresh while keeping the last data, marked
// stale.

import { api, ApiError, credential, saveCredential, forgetCredential } from './api.js';
import overview from './views/overview.js';
import pods from './views/pods.js';
import pod from './views/pod.js';
import servers from './views/servers.js';
import registry from './views/registry.js';
import sessions from './views/sessions.js';
import audit from './views/audit.js';

/** How often a view refreshes itself. */
const REFRESH_MS = 5000;

const views = { overview, pods, pod, servers, registry, sessions, audit };

const $ = (id) => document.getElementById(id);

const state = {
  view: null, // {refresh(signal)} of the mounted view
  name: '',
  timer: 0,
  paused: false,
  lastOk: null,
  abort: null,
  failed: false,
};

/** "10:11:12 UTC" */
function clock(d) {
  return `${d.toISOString().slice(11, 19)} UTC`;
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = parts[0] || 'overview';
  if (name === 'pods' && parts[1]) {
    let id = parts[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      // A malformed escape is left as typed; the API refuses the id.
    }
    return { name: 'pod', arg: id };
  }
  return views[name] && name !== 'pod' ? { name, arg: '' } : { name: 'overview', arg: '' };
}

// --- status line, banner, notices -------------------------------------

function showUpdated() {
  const el = $('updated');
  const view = $('view');
  view.classList.toggle('stale', state.failed);
  view.setAttribute('aria-describedby', 'updated');
  let text;
  if (!state.lastOk) text = state.failed ? 'No data yet' : 'Loading…';
  else if (state.failed) text = `Stale: last updated ${clock(state.lastOk)}`;
  else text = `Updated ${clock(state.lastOk)}`;
  if (state.paused) text += ' · paused';
  el.textContent = text;
  el.classList.toggle('is-stale', state.failed);
}

function showBanner(title, err) {
  $('banner-title').textContent = title;
  $('banner-message').textContent = err.message;
  $('banner-detail').textContent = err.detail || '';
  $('banner-detail-row').hidden = !err.detail;
  $('banner-id').textContent = err.errorId || '';
  $('banner-id-row').hidden = !err.errorId;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

/** Says what an action did, in a polite live region. */
function notify(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = !text;
}

// --- refreshing ---------------------------------------------------------

function schedule() {
  clearTimeout(state.timer);
  if (!state.paused && state.view) state.timer = setTimeout(refreshNow, REFRESH_MS);
}

async function refreshNow() {
  clearTimeout(state.timer);
  if (!state.view) return;
  state.abort?.abort();
  const abort = new AbortController();
  state.abort = abort;
  const view = state.view;
  try {
    await view.refresh(abort.signal);
    if (abort.signal.aborted || view !== state.view) return;
    state.lastOk = new Date();
    state.failed = false;
    // When the data shown was fetched, for whoever needs to know it exactly.
    $('updated').dataset.at = String(state.lastOk.getTime());
    hideBanner();
  } catch (err) {
    if (abort.signal.aborted || view !== state.view) return;
    if (handleAuth(err)) return;
    state.failed = true;
    showBanner('Refresh failed', asApiError(err));
  }
  showUpdated();
  schedule();
}

function asApiError(err) {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'the page failed to show the answer', String(err?.message ?? err), '');
}

/** Signs out on a 401 or 403, saying why; true when it did. */
function handleAuth(err) {
  if (!(err instanceof ApiError)) return false;
  if (err.status === 401) {
    signOut(`Signed out: the server refused the credential (${err.message}${err.detail ? `: ${err.detail}` : ''}).`);
    return true;
  }
  if (err.status === 403) {
    signOut('These credentials are valid but lack the ai_admin role, which every admin operation requires.');
    return true;
  }
  return false;
}

// What views may do beyond showing data.
const ctx = {
  notify,
  refresh: refreshNow,
  /**
   * Runs an action the operator confirmed: success is announced and the
   * view refreshed; a failure shows in the banner (the data is not stale).
   */
  async act(run, done) {
    notify('');
    try {
      const res = await run();
      hideBanner();
      notify(done(res));
      await refreshNow();
    } catch (err) {
      if (handleAuth(err)) return;
      showBanner('Action failed', asApiError(err));
    }
  },
};

// --- views --------------------------------------------------------------

function show() {
  const r = route();
  clearTimeout(state.timer);
  state.abort?.abort();
  const el = $('view');
  el.replaceChildren();
  el.classList.remove('stale');
  state.failed = false;
  state.lastOk = null;
  delete $('updated').dataset.at;
  hideBanner();
  notify('');
  for (const a of document.querySelectorAll('#nav a')) {
    const current = a.dataset.view === r.name || (r.name === 'pod' && a.dataset.view === 'pods');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const def = views[r.name];
  document.title = `${def.title} · aiadmin`;
  state.name = r.name;
  state.view = def.mount(el, ctx, r.arg);
  el.dataset.view = r.name;
  showUpdated();
  refreshNow();
}

function focusHeading() {
  const h1 = $('view').querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus();
  }
}

// --- signing in and out -------------------------------------------------

function showApp() {
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('live').hidden = false;
  $('view').hidden = false;
  document.body.dataset.signedIn = 'true';
  show();
}

function signOut(reason) {
  forgetCredential();
  clearTimeout(state.timer);
  state.abort?.abort();
  state.view = null;
  $('view').replaceChildren();
  $('view').hidden = true;
  $('nav').hidden = true;
  $('live').hidden = true;
  hideBanner();
  notify('');
  delete document.body.dataset.signedIn;
  document.title = 'Sign in · aiadmin';
  $('token').value = '';
  $('api-key').value = '';
  $('api-secret').value = '';
  $('signin-error').textContent = reason;
  $('signin').hidden = false;
  (credentialKind() === 'keypair' ? $('api-key') : $('token')).focus();
}

function credentialKind() {
  return $('kind-keypair').checked ? 'keypair' : 'bearer';
}

function showKindFields() {
  const kp = credentialKind() === 'keypair';
  $('keypair-fields').hidden = !kp;
  $('bearer-fields').hidden = kp;
}

async function signIn(event) {
  event.preventDefault();
  const error = $('signin-error');
  let cred;
  if (credentialKind() === 'bearer') {
    const token = $('token').value.trim().replace(/^Bearer\s+/i, '');
    if (!token) {
      error.textContent = 'Paste a bearer token.';
      return;
    }
    cred = { kind: 'bearer', token };
  } else {
    const key = $('api-key').value.trim();
    const secret = $('api-secret').value.trim();
    if (!key || !secret) {
      error.textContent = 'A key pair needs both the API key and the API secret.';
      return;
    }
    cred = { kind: 'keypair', key, secret };
  }
  error.textContent = 'Checking…';
  $('signin-submit').disabled = true;
  try {
    // The cheapest admin operation tells whether the credential works.
    await api('/affinity', { cred });
    saveCredential(cred);
    error.textContent = '';
    showApp();
    focusHeading();
  } catch (err) {
    const e = asApiError(err);
    if (e.status === 401) error.textContent = `Sign-in refused: ${e.message}${e.detail ? ` (${e.detail})` : ''}.`;
    else if (e.status === 403) error.textContent = 'These credentials are valid but lack the ai_admin role, which every admin operation requires.';
    else error.textContent = `Sign-in failed: ${e.message}${e.errorId ? ` (error id ${e.errorId})` : ''}.`;
  } finally {
    $('signin-submit').disabled = false;
  }
}

function togglePause() {
  state.paused = !state.paused;
  const b = $('pause');
  b.setAttribute('aria-pressed', String(state.paused));
  b.textContent = state.paused ? 'Resume' : 'Pause';
  showUpdated();
  if (state.paused) clearTimeout(state.timer);
  else refreshNow();
}

function start() {
  $('signin-form').addEventListener('submit', signIn);
  for (const r of document.querySelectorAll('input[name="kind"]')) r.addEventListener('change', showKindFields);
  $('signout').addEventListener('click', () => signOut('Signed out.'));
  $('pause').addEventListener('click', togglePause);
  $('refresh').addEventListener('click', () => refreshNow());
  window.addEventListener('hashchange', () => {
    if (!credential()) return;
    show();
    focusHeading();
  });
  if (credential()) showApp();
  else signOut('');
}

start();
