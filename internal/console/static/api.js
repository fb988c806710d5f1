// The GraphQL client and the token. The token lives in sessionStorage
// only: it is gone when the tab closes, and no other tab or later visit
// sees it. Everything it may do is decided by the server.
const TOKEN_KEY = 'certd.console.token';

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(tok) { sessionStorage.setItem(TOKEN_KEY, tok); }

export function clearToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage unavailable */ }
}

// ApiError carries the contract's extensions.code and, for refusals such
// as POLICY_REJECTED, the details lines.
export class ApiError extends Error {
  constructor(code, message, details = [], status = 0) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
    this.status = status;
  }
}

export const endpoint = () => new URL('../graphql', document.baseURI).toString();

// REFUSED is the window event gql sends when the server refuses the
// session's token (UNAUTHENTICATED, or a bare 401), after removing the
// token; detail is the ApiError. The shell goes back to the sign-in page.
export const REFUSED = 'certd:token-refused';

// refused forgets a token the server refused, unless another has been put
// in its place meanwhile, and tells the shell.
function refused(err, tok) {
  if (!tok || getToken() !== tok) return;
  clearToken();
  window.dispatchEvent(new CustomEvent(REFUSED, { detail: err }));
}

// gql posts a query with variables and the session's token; it resolves to
// data, or rejects with an ApiError (code NETWORK when the server could
// not be reached, HTTP_<status> when the answer was not GraphQL: its
// message is the HTTP status text, and the error box explains it). A
// refused token is removed first (see REFUSED).
export async function gql(query, variables = {}) {
  const tok = getToken();
  try {
    return await post(query, variables, tok);
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'UNAUTHENTICATED' || e.status === 401)) refused(e, tok);
    throw e;
  }
}

async function post(query, variables, tok) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  let resp;
  try {
    resp = await fetch(endpoint(), {
      method: 'POST', headers, body: JSON.stringify({ query, variables }),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError('NETWORK', String(e && e.message ? e.message : e));
  }
  let body;
  try {
    body = await resp.json();
  } catch {
    throw new ApiError(`HTTP_${resp.status}`, resp.statusText || String(resp.status), [], resp.status);
  }
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const first = body.errors[0];
    const ext = first.extensions || {};
    let details = [];
    if (Array.isArray(ext.details)) details = ext.details.map(String);
    else if (ext.details !== undefined && ext.details !== null) details = [typeof ext.details === 'string' ? ext.details : JSON.stringify(ext.details)];
    for (const more of body.errors.slice(1)) details.push(more.message);
    throw new ApiError(ext.code || 'ERROR', first.message || '', details, resp.status);
  }
  if (!resp.ok) throw new ApiError(`HTTP_${resp.status}`, resp.statusText || String(resp.status), [], resp.status);
  return body.data;
}

// decodeJwt reads a token's payload for display (expiry, subject). It
// verifies nothing: the server does.
export function decodeJwt(tok) {
  const parts = tok.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}
