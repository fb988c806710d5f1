// Shared pieces of the pages: error boxes, the status line, busy buttons.
import { h, setText } from './dom.js';
import { t } from './i18n.js';

// errorBox shows an error's extensions.code, its message and each detail
// line (e.g. the reasons a publish was refused), after a lead line
// (a dictionary key) when given.
export function errorBox(err, leadKey) {
  const code = err && err.code ? err.code : 'ERROR';
  const hintKey = {
    NETWORK: 'err.network', UNAUTHENTICATED: 'err.unauthenticated', FORBIDDEN: 'err.forbidden',
    POLICY_REJECTED: 'err.policy_rejected', INVALID_JSON: 'err.invalid_json',
  }[code] || (/^HTTP_/.test(code) ? 'err.not_graphql' : undefined);
  const details = (err && err.details) || [];
  return h('div', { class: 'error', role: 'alert', dataset: { code } },
    leadKey ? h('p', { class: 'error-lead', i18n: leadKey }) : null,
    h('p', {}, h('strong', { class: 'error-code', text: code }), ' ',
      h('span', { class: 'error-message', text: err && err.message ? err.message : String(err) })),
    hintKey ? h('p', { class: 'error-hint', i18n: hintKey }) : null,
    details.length ? h('ul', { class: 'error-details' }, details.map((d) => h('li', {}, h('pre', { text: d })))) : null);
}

// okBox shows a success line.
export function okBox(key, args) {
  return h('div', { class: 'ok' }, h('p', { i18n: key, i18nArgs: args }));
}

// announce puts a message in the page-wide status line (aria-live).
export function announce(key, args) {
  const el = document.getElementById('status');
  if (!el) return;
  if (!key) { el.replaceChildren(); return; }
  const p = h('p', {});
  setText(p, key, args);
  el.replaceChildren(p);
}

// busy marks a button busy while fn runs: aria-disabled rather than
// disabled, so a focused button keeps focus (a disabled one drops it to
// <body>) and a screen reader stays where it was. A second press while
// busy does nothing.
export async function busy(button, fn) {
  if (isBusy(button)) return undefined;
  button.setAttribute('aria-disabled', 'true');
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
  }
}

// isBusy reports whether busy is running for a button.
export const isBusy = (button) => button.getAttribute('aria-busy') === 'true';

// show replaces a region's content.
export function show(region, ...nodes) {
  region.replaceChildren(...nodes.filter(Boolean));
}

// parseJSON parses text, throwing an INVALID_JSON error that errorBox shows.
export function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    const err = new Error(e.message);
    err.code = 'INVALID_JSON';
    throw err;
  }
}

export const yesNo = (b) => h('span', { class: b ? 'yes' : 'no', i18n: b ? 'common.yes' : 'common.no' });

// mark is ✓ or ✗ with its meaning as text for screen readers.
export function mark(ok, okKey = 'common.pass', failKey = 'common.fail') {
  return h('span', { class: ok ? 'badge pass' : 'badge fail' },
    h('span', { 'aria-hidden': 'true', text: ok ? '✓ ' : '✗ ' }), h('span', { i18n: ok ? okKey : failKey }));
}

export { t };
