// The console's shell: sign-in, the role-dependent navigation, the
// language switch and hash routing to the pages.
import { gql, getToken, setToken, clearToken, decodeJwt, ApiError, REFUSED } from './api.js';
import { h, field, clear, setText, time, enumLabel, roleArg } from './dom.js';
import { initLang, setLang, getLang, t } from './i18n.js';
import { errorBox, okBox } from './ui.js';
import * as policy from './pages/policy.js';
import * as approvals from './pages/approvals.js';
import * as audit from './pages/audit.js';
import * as objections from './pages/objections.js';

// Each page names the roles it is shown to; the server still decides.
export const PAGES = [
  { id: 'policy', titleKey: 'nav.policy', roles: ['policy_admin'], mod: policy },
  { id: 'approvals', titleKey: 'nav.approvals', roles: ['digital_office'], mod: approvals },
  { id: 'audit', titleKey: 'nav.audit', roles: ['issuer', 'supervisor', 'digital_office'], mod: audit },
  { id: 'objections', titleKey: 'nav.objections', roles: ['issuer'], mod: objections },
];

const state = { me: null, cleanup: null, titleKey: null };
let routed = false; // focus moves to the page title after the first page


const main = () => document.getElementById('main');

// setTitle names the tab after a page (a dictionary key), in the current
// language; without a key, after the console.
function setTitle(key) {
  state.titleKey = key || null;
  document.title = key ? `${t(key)} · certd` : t('app.doc_title');
}

export const allowedPages = (roles) => PAGES.filter((p) => p.roles.some((r) => roles.includes(r)));

// renderSignIn shows the sign-in form, with an error (led by leadKey) or
// a note under it.
function renderSignIn(err, noteKey, leadKey) {
  state.me = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('whoami').hidden = true;
  document.getElementById('sign-out').hidden = true;
  const ta = h('textarea', { id: 'token-input', name: 'token', rows: 4, required: true, autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  const result = h('div', { id: 'signin-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'signin-form', class: 'card', on: { submit: onSubmit } },
    h('h1', { id: 'page-title', tabindex: '-1', i18n: 'signin.title' }),
    h('p', { i18n: 'signin.intro' }),
    field('signin.token', ta, 'signin.token_hint'),
    h('p', { class: 'hint' }, h('span', { i18n: 'signin.obtain' }), ' ',
      h('code', { text: 'certd token --sub policy-admin --org 11350100MB00000012 --role policy_admin' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'signin-button', i18n: 'signin.button' })),
    result);
  async function onSubmit(e) {
    e.preventDefault();
    const tok = ta.value.trim().replace(/^Bearer\s+/i, '');
    if (!tok) return;
    setToken(tok);
    routed = true;
    await start(true);
  }
  clear(main()).append(form);
  setTitle('signin.title');
  if (err) result.append(errorBox(err, leadKey));
  else if (noteKey) result.append(okBox(noteKey));
  ta.focus();
}

function renderWho(me) {
  const who = document.getElementById('whoami');
  const claims = decodeJwt(getToken()) || {};
  const parts = [me.name || me.subject];
  if (me.org) parts.push(me.org);
  who.replaceChildren(
    h('span', { class: 'who-sub', text: parts.join(' · ') }), ' ',
    h('span', { class: 'who-roles' }, me.roles.map((r) => {
      const chip = enumLabel(`common.role.${r}`, r);
      chip.className = 'role';
      return chip;
    })),
    claims.exp ? h('span', { class: 'who-exp' }, ' ', h('span', { i18n: 'who.expires' }), ' ',
      time(new Date(claims.exp * 1000).toISOString())) : null);
  who.hidden = false;
  document.getElementById('sign-out').hidden = false;
}

function renderNav(pages) {
  const list = document.getElementById('nav-list');
  list.replaceChildren(...pages.map((p) => h('li', {}, h('a', { href: `#/${p.id}`, id: `nav-${p.id}`, i18n: p.titleKey }))));
  document.getElementById('nav').hidden = pages.length === 0;
}

// start signs in with the session's token: typed in just now (signingIn),
// or kept from before a reload, when a refusal means the session ended.
async function start(signingIn = false) {
  if (!getToken()) { renderSignIn(); return; }
  let me;
  try {
    const data = await gql('{ me { subject name org roles amr } }');
    me = data.me;
  } catch (e) {
    const refused = e instanceof ApiError && (e.code === 'UNAUTHENTICATED' || e.status === 401);
    if (refused) clearToken();
    renderSignIn(e, null, refused && !signingIn ? 'signin.refused' : null);
    return;
  }
  state.me = me;
  renderWho(me);
  renderNav(allowedPages(me.roles));
  route();
}

function route() {
  if (!state.me) return;
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  const pages = allowedPages(state.me.roles);
  const id = (location.hash.match(/^#\/([a-z]+)/) || [])[1];
  const page = pages.find((p) => p.id === id);
  for (const a of document.querySelectorAll('#nav-list a')) {
    if (a.id === `nav-${id}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = clear(main());
  if (!page) {
    if (!id && pages.length > 0) { location.replace(`#/${pages[0].id}`); return; }
    const key = pages.length ? 'nav.not_allowed' : 'nav.no_pages';
    root.append(h('section', { class: 'card' },
      h('h1', { id: 'page-title', tabindex: '-1', i18n: key }),
      h('p', { i18n: 'nav.roles_hint', i18nArgs: { roles: state.me.roles.map(roleArg) } })));
    setTitle(key);
    return;
  }
  setTitle(page.titleKey);
  state.cleanup = page.mod.render(root, { me: state.me }) || null;
  const title = document.getElementById('page-title');
  if (title && routed) title.focus();
  routed = true;
}

// tokenRefused answers the server refusing the token mid-session (it
// expired, or was revoked): back to the sign-in page with why. The page
// stays in the address and its unpublished edits in memory, so signing in
// again carries on.
function tokenRefused(e) {
  if (!state.me) return; // signing in: start shows the refusal
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  document.getElementById('nav-list').replaceChildren();
  renderSignIn(e.detail, null, 'signin.refused');
}

function signOut() {
  clearToken();
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  for (const p of PAGES) if (p.mod.reset) p.mod.reset();
  document.getElementById('nav-list').replaceChildren();
  history.replaceState(null, '', location.pathname);
  routed = false;
  renderSignIn(null, 'signout.done');
}

function init() {
  initLang();
  setTitle(null);
  const sel = document.getElementById('lang-select');
  sel.value = getLang();
  sel.addEventListener('change', () => {
    setLang(sel.value);
    setTitle(state.titleKey);
  });
  document.getElementById('sign-out').addEventListener('click', signOut);
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    main().focus();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener(REFUSED, tokenRefused);
  setText(document.getElementById('skip-link'), 'skip');
  start();
}

init();
