// Small DOM helpers. Text always goes in as text nodes or textContent, so
// nothing the server or the user typed is ever parsed as HTML.
import { t, has, formatTime } from './i18n.js';

// h('tag', {props}, ...children) makes an element.
//   class: class names; text: textContent; i18n: a dictionary key (kept in
//   data-i18n so a language switch re-labels it) with i18nArgs; placeholder,
//   aria and title take dictionary keys too (i18nPlaceholder, i18nAria,
//   i18nTitle); on: {event: handler}; any other prop becomes an attribute
//   (true: present, false/null/undefined: absent).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    switch (k) {
      case 'class': el.className = v; break;
      case 'text': el.textContent = String(v); break;
      case 'i18n': setText(el, v, props.i18nArgs); break;
      case 'i18nArgs': break;
      case 'i18nPlaceholder': el.dataset.i18nPlaceholder = v; el.placeholder = t(v); break;
      case 'i18nAria':
        el.dataset.i18nAria = v;
        if (props.i18nArgs) el.dataset.i18nAriaArgs = JSON.stringify(props.i18nArgs);
        el.setAttribute('aria-label', t(v, props.i18nArgs));
        break;
      case 'i18nTitle': el.dataset.i18nTitle = v; el.title = t(v); break;
      case 'on': for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); break;
      case 'value': el.value = v; break;
      case 'dataset': Object.assign(el.dataset, v); break;
      default: el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// setText labels el with a dictionary key.
export function setText(el, key, args) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  el.textContent = t(key, args);
}

// time renders an RFC 3339 timestamp in the current language; the
// original stays in the datetime attribute and re-renders on a switch.
export function time(iso) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  return h('time', { datetime: iso, text: formatTime(iso) });
}

// enumLabel shows a value from the server (a role, a decision) by its
// dictionary label when key is in the dictionary, else as it came.
export function enumLabel(key, raw) {
  return h('span', has(key) ? { i18n: key, dataset: { value: raw } } : { text: raw, dataset: { value: raw } });
}

// roleArg is a role as an i18n argument (see t).
export const roleArg = (r) => ({ i18n: `common.role.${r}`, raw: r });

let seq = 0;
// uid makes an element id unique on the page.
export function uid(prefix) { seq += 1; return `${prefix}-${seq}`; }

// field wraps a control with its label.
export function field(labelKey, control, hintKey) {
  if (!control.id) control.id = uid('f');
  const hint = hintKey ? h('span', { class: 'hint', id: uid('hint'), i18n: hintKey }) : null;
  if (hint) control.setAttribute('aria-describedby', hint.id);
  return h('div', { class: 'field' }, h('label', { for: control.id, i18n: labelKey }), control, hint);
}

// table renders rows with the given columns: [{key: i18n key, cell: row => node|string, class}].
export function table(columns, rows, opts = {}) {
  const thead = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', i18n: c.key, class: c.class }))));
  const tbody = h('tbody', {}, rows.map((r, i) => {
    const tr = h('tr', { class: opts.rowClass ? opts.rowClass(r) : null }, columns.map((c) => h('td', { class: c.class }, c.cell(r, i))));
    return tr;
  }));
  const tbl = h('table', { class: 'grid' }, opts.captionKey ? h('caption', { i18n: opts.captionKey, i18nArgs: opts.captionArgs }) : null, thead, tbody);
  return h('div', { class: 'table-wrap' }, tbl);
}

// clear empties an element.
export function clear(el) { el.replaceChildren(); return el; }
