// The objections page (issuers): objections to the unit's licences
// (第十七条), overdue ones marked, and the resolve form: CORRECTED issues a
// new version with the corrected data, REJECTED needs a note.
import { gql } from '../api.js';
import { h, time, field, table, uid, enumLabel } from '../dom.js';
import { errorBox, okBox, busy, show, parseJSON } from '../ui.js';

const LIST_Q = `query($s: ObjectionState) {
  objections(state: $s) { id certificate { id type { code name } holder { code name } } filedBy filedRole fields description state resolution filedAt resolvedAt dueAt overdue correctedCertificateId caseId }
  overdueObjections { id }
}`;
const DATA_Q = 'query($id: ID!) { certificate(id: $id) { id data } }';
const RESOLVE_Q = `mutation($id: ID!, $o: ObjectionOutcome!, $n: String!, $d: JSON) {
  resolveObjection(id: $id, outcome: $o, note: $n, correctedData: $d) { id state resolution correctedCertificateId }
}`;
const STATES = ['OPEN', 'CORRECTED', 'REJECTED'];

let stateFilter = 'OPEN';

export function reset() { stateFilter = 'OPEN'; }

export function render(root) {
  const list = h('div', { id: 'objections-list' });
  const overdueLine = h('p', { id: 'overdue-count', 'aria-live': 'polite' });
  const result = h('div', { id: 'objections-result', class: 'result', 'aria-live': 'polite', tabindex: '-1' });
  const panel = h('section', { id: 'resolve-panel', class: 'card', hidden: true, 'aria-labelledby': 'resolve-title' });
  const sel = h('select', { id: 'objections-state' },
    h('option', { value: '', i18n: 'common.all' }),
    STATES.map((s) => h('option', { value: s, i18n: `objection.state.${s}` })));
  sel.value = stateFilter;
  const filter = h('form', { class: 'inline-form', id: 'objections-filter' },
    field('objection.state', sel),
    h('button', { type: 'submit', class: 'secondary', i18n: 'common.refresh' }));
  filter.addEventListener('submit', (e) => { e.preventDefault(); stateFilter = sel.value; load(); });
  sel.addEventListener('change', () => { stateFilter = sel.value; load(); });

  root.append(
    h('h1', { id: 'page-title', tabindex: '-1', i18n: 'objections.title' }),
    h('p', { class: 'hint', i18n: 'objections.intro' }),
    h('section', { class: 'card' }, filter, overdueLine, result, list),
    panel);

  async function load() {
    show(list, h('p', { class: 'muted', i18n: 'common.loading' }));
    try {
      const d = await gql(LIST_Q, { s: stateFilter || null });
      const overdue = d.overdueObjections.length;
      show(overdueLine, overdue
        ? h('span', { class: 'badge fail', i18n: 'objections.overdue_count', i18nArgs: { n: overdue } })
        : h('span', { class: 'muted', i18n: 'objections.none_overdue' }));
      const rows = d.objections;
      if (!rows.length) { show(list, h('p', { class: 'muted', id: 'objections-empty', i18n: 'objections.none' })); return; }
      const tbl = table([
        { key: 'objection.filed_at', cell: (o) => time(o.filedAt) },
        { key: 'objection.licence', cell: (o) => [h('span', { text: o.certificate.type.name }), h('br', {}), h('small', { class: 'mono wrap', text: o.certificate.id })] },
        { key: 'objection.holder', cell: (o) => [h('span', { text: o.certificate.holder.name }), h('br', {}), h('small', { class: 'mono', text: o.certificate.holder.code })] },
        { key: 'objection.fields', cell: (o) => h('code', { text: o.fields.join(', ') }) },
        { key: 'objection.description', cell: (o) => h('span', { class: 'description', text: o.description }) },
        { key: 'objection.filed_by', cell: (o) => [o.filedBy, ' (', enumLabel(`common.role.${o.filedRole}`, o.filedRole), ')'] },
        { key: 'objection.due', cell: (o) => [time(o.dueAt), o.overdue ? [' ', h('span', { class: 'badge fail overdue', i18n: 'objection.overdue' })] : null] },
        { key: 'objection.state', cell: (o) => [h('span', { class: `state state-${o.state}`, i18n: `objection.state.${o.state}` }), o.resolution ? [h('br', {}), h('small', { text: o.resolution })] : null] },
        { key: 'common.actions', cell: (o) => (o.state === 'OPEN' ? resolveButton(o) : '') },
      ], rows, { rowClass: (o) => (o.overdue ? 'row-overdue' : null) });
      tbl.querySelectorAll('tbody tr').forEach((tr, i) => { tr.dataset.id = rows[i].id; });
      show(list, tbl);
    } catch (e) {
      show(list, errorBox(e));
    }
  }

  function resolveButton(o) {
    const b = h('button', { type: 'button', class: 'small resolve', dataset: { id: o.id }, i18n: 'objection.resolve' });
    b.addEventListener('click', () => openPanel(o, b));
    return b;
  }

  function openPanel(o, opener) {
    const name = uid('outcome');
    const rejected = h('input', { type: 'radio', name, value: 'REJECTED', id: 'outcome-rejected', checked: true });
    const corrected = h('input', { type: 'radio', name, value: 'CORRECTED', id: 'outcome-corrected' });
    const note = h('textarea', { id: 'resolve-note', rows: 3, required: true });
    const data = h('textarea', { id: 'resolve-data', class: 'mono', rows: 8, spellcheck: 'false' });
    const dataField = field('objection.corrected_data', data, 'objection.corrected_hint');
    dataField.hidden = true;
    const out = h('div', { id: 'resolve-result', class: 'result', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', id: 'resolve-submit', i18n: 'objection.submit' });
    const cancel = h('button', { type: 'button', class: 'secondary', i18n: 'common.cancel' });
    const form = h('form', { id: 'resolve-form' },
      h('fieldset', {}, h('legend', { i18n: 'objection.outcome' }),
        h('label', { class: 'radio' }, rejected, ' ', h('span', { i18n: 'objection.outcome.REJECTED' })),
        h('label', { class: 'radio' }, corrected, ' ', h('span', { i18n: 'objection.outcome.CORRECTED' }))),
      field('objection.note', note),
      dataField,
      h('div', { class: 'actions' }, submit, cancel),
      out);
    const onOutcome = async () => {
      dataField.hidden = !corrected.checked;
      if (corrected.checked && !data.value.trim()) {
        try {
          const d = await gql(DATA_Q, { id: o.certificate.id });
          if (!data.value.trim() && d.certificate) data.value = JSON.stringify(d.certificate.data, null, 2);
        } catch (e) {
          show(out, errorBox(e));
        }
      }
    };
    rejected.addEventListener('change', onOutcome);
    corrected.addEventListener('change', onOutcome);
    const close = () => { panel.hidden = true; panel.replaceChildren(); if (opener.isConnected) opener.focus(); };
    cancel.addEventListener('click', close);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!note.value.trim()) { note.focus(); return; }
      busy(submit, async () => {
        const vars = { id: o.id, o: corrected.checked ? 'CORRECTED' : 'REJECTED', n: note.value.trim(), d: null };
        try {
          if (corrected.checked) vars.d = parseJSON(data.value);
          const d = await gql(RESOLVE_Q, vars);
          const r = d.resolveObjection;
          panel.hidden = true;
          panel.replaceChildren();
          show(result, okBox('objection.resolved', { id: r.id, state: { i18n: `objection.state.${r.state}`, raw: r.state } }),
            r.correctedCertificateId ? h('p', {}, h('span', { i18n: 'objection.new_version' }), ' ', h('code', { class: 'wrap', text: r.correctedCertificateId })) : null);
          await load();
          result.focus();
        } catch (err) {
          show(out, errorBox(err));
        }
      });
    });
    panel.replaceChildren(
      h('h2', { id: 'resolve-title', i18n: 'objection.resolve_title' }),
      h('dl', { class: 'meta' },
        h('dt', { i18n: 'objection.licence' }), h('dd', {}, h('code', { class: 'wrap', text: o.certificate.id })),
        h('dt', { i18n: 'objection.fields' }), h('dd', { text: o.fields.join(', ') }),
        h('dt', { i18n: 'objection.description' }), h('dd', { text: o.description })),
      form);
    panel.hidden = false;
    rejected.focus();
  }

  load();
}
