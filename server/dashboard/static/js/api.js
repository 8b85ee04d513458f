// The admin API, called with the operator's credential. The credential lives
// in sessionStorage only (gone when the tab closes) and travels in request
// headers, never in an address, and nothing here logs it.

const STORAGE_KEY = 'aiadmin.credential';

/** Where the admin operations are. */
export const BASE = '/api/ai/v1/admin';

/** An answer in the API's error format, or a request that got no answer. */
export class ApiError extends Error {
  constructor(status, message, detail, errorId) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the server could not be reached
    this.detail = detail;
    this.errorId = errorId;
  }
}

/** The stored credential: {kind: 'bearer', token} or {kind: 'keypair', key, secret}. */
export function credential() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    if (c?.kind === 'bearer' && c.token) return c;
    if (c?.kind === 'keypair' && c.key && c.secret) return c;
  } catch {
    // A damaged entry is as good as none.
  }
  return null;
}

export function saveCredential(c) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
}

export function forgetCredential() {
  sessionStorage.removeItem(STORAGE_KEY);
}

function authHeaders(c) {
  if (c?.kind === 'bearer') return { Authorization: `Bearer ${c.token}` };
  if (c?.kind === 'keypair') return { 'api-key': c.key, 'api-secret': c.secret };
  return {};
}

/**
 * Calls an admin operation and returns its JSON. path is below BASE, with
 * every path value already encoded. Throws ApiError for an error answer.
 */
export async function api(path, { method = 'GET', body, signal, cred } = {}) {
  const headers = { Accept: 'application/json', ...authHeaders(cred ?? credential()) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'the server could not be reached', 'check that aiadmin is running', '');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      data?.error || res.headers.get('x-error') || `HTTP ${res.status}`,
      data?.detail || '',
      res.headers.get('x-error-id') || '',
    );
  }
  return data;
}

/**
 * Every item of a paged list operation (page/limit), at most maxPages pages
 * of 100. field names the list in the answer.
 */
export async function allPages(path, field, { signal, maxPages = 100 } = {}) {
  const items = [];
  let total = 0;
  for (let page = 1; page <= maxPages; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api(`${path}${sep}page=${page}&limit=100`, { signal });
    items.push(...res[field]);
    total = res.total;
    if (res[field].length === 0 || items.length >= total) break;
  }
  return { items, total };
}

/** Encodes one path value (a pod id, a URL, a model or user id). */
export const seg = encodeURIComponent;
