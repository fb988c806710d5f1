// The approvals page (the digital office): bulk-analysis requests (第十三条),
// PENDING ones with approve (optional comment) and reject (reason required).
import { gql } from '../api.js';
import { h, time, field, table, uid } from '../dom.js';
import { errorBox, okBox, busy, show } from '../ui.js';

const FIELDS = 'id state purpose groupBy requestedBy requesterOrg validDays maxRuns runsLeft createdAt decidedBy comment validUntil';
const LIST_Q = `query($s: BulkAnalysisState) { bulkAnalysisRequests(state: $s) { ${FIELDS} } }`;
const APPROVE_Q = `mutation($id: ID!, $c: String) { approveBulkAnalysis(id: $id, comment: $c) { id state } }`;
const REJECT_Q = `mutation($id: ID!, $r: String!) { rejectBulkAnalysis(id: $id, reason: $r) { id state } }`;
const STATES = ['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED', 'EXHAUSTED'];

let stateFilter = 'PENDING';

export function reset() { stateFilter = 'PENDING'; }

export function render(root) {
  const list = h('div', { id: 'approvals-list' });
  const result = h('div', { id: 'approvals-result', class: 'result', 'aria-live': 'polite', tabindex: '-1' });
  const sel = h('select', { id: 'approvals-state' },
    h('option', { value: '', i18n: 'common.all' }),
    STATES.map((s) => h('option', { value: s, i18n: `bulk.state.${s}` })));
  sel.value = stateFilter;
  const filter = h('form', { class: 'inline-form', id: 'approvals-filter' },
    field('bulk.state', sel),
    h('button', { type: 'submit', class: 'secondary', i18n: 'common.refresh' }));
  filter.addEventListener('submit', (e) => { e.preventDefault(); stateFilter = sel.value; load(); });
  sel.addEventListener('change', () => { stateFilter = sel.value; load(); });

  root.append(
    h('h1', { id: 'page-title', tabindex: '-1', i18n: 'approvals.title' }),
    h('p', { class: 'hint', i18n: 'approvals.intro' }),
    h('section', { class: 'card' }, filter, result, list));

  async function load() {
    show(list, h('p', { class: 'muted', i18n: 'common.loading' }));
    try {
      const d = await gql(LIST_Q, { s: stateFilter || null });
      const reqs = d.bulkAnalysisRequests;
      if (!reqs.length) { show(list, h('p', { class: 'muted', id: 'approvals-empty', i18n: 'approvals.none' })); return; }
      // The comment and reason fields are described by their row's purpose.
      const purpose = new Map(reqs.map((r) => [r.id, uid('purpose')]));
      const tbl = table([
        { key: 'bulk.purpose', cell: (r) => h('span', { id: purpose.get(r.id), text: r.purpose }) },
        { key: 'bulk.group_by', cell: (r) => r.groupBy.map((g) => h('span', { class: 'tag', i18n: `bulk.dim.${g}` })) },
        { key: 'bulk.requester', cell: (r) => [h('span', { text: r.requestedBy }), h('br', {}), h('small', { class: 'muted', text: r.requesterOrg })] },
        { key: 'bulk.valid_days', class: 'num', cell: (r) => String(r.validDays) },
        { key: 'bulk.max_runs', class: 'num', cell: (r) => String(r.maxRuns) },
        { key: 'bulk.created_at', cell: (r) => time(r.createdAt) },
        { key: 'bulk.state', cell: (r) => h('span', { class: `state state-${r.state}`, i18n: `bulk.state.${r.state}` }) },
        { key: 'common.actions', cell: (r) => (r.state === 'PENDING' ? actions(r, purpose.get(r.id)) : decided(r)) },
      ], reqs);
      tbl.querySelectorAll('tbody tr').forEach((tr, i) => { tr.dataset.id = reqs[i].id; });
      show(list, tbl);
    } catch (e) {
      show(list, errorBox(e));
    }
  }

  function decided(r) {
    return h('span', { class: 'muted' }, r.decidedBy ? `${r.decidedBy}${r.comment ? ` — ${r.comment}` : ''}` : '');
  }

  // actions are the approve and reject forms of a PENDING request, each
  // field with a visible label and described by the request's purpose.
  function actions(r, purposeId) {
    const comment = h('input', { type: 'text', class: 'approve-comment', autocomplete: 'off', 'aria-describedby': purposeId });
    const approve = h('button', { type: 'submit', class: 'approve small', i18n: 'approvals.approve' });
    const approveForm = h('form', { class: 'row-form' }, field('approvals.comment', comment), approve);
    approveForm.addEventListener('submit', (e) => {
      e.preventDefault();
      busy(approve, () => decide(APPROVE_Q, { id: r.id, c: comment.value.trim() || null }, 'approvals.approved'));
    });
    const reason = h('input', { type: 'text', class: 'reject-reason', autocomplete: 'off', required: true, 'aria-describedby': purposeId });
    const reject = h('button', { type: 'submit', class: 'reject small danger', i18n: 'approvals.reject' });
    const rejectForm = h('form', { class: 'row-form' }, field('approvals.reason', reason), reject);
    rejectForm.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!reason.value.trim()) { reason.focus(); return; }
      busy(reject, () => decide(REJECT_Q, { id: r.id, r: reason.value.trim() }, 'approvals.rejected'));
    });
    return h('div', { class: 'row-actions' }, approveForm, rejectForm);
  }

  async function decide(q, vars, okKey) {
    try {
      const d = await gql(q, vars);
      const res = d.approveBulkAnalysis || d.rejectBulkAnalysis;
      show(result, okBox(okKey, { id: res.id, state: { i18n: `bulk.state.${res.state}`, raw: res.state } }));
      await load();
      result.focus();
    } catch (e) {
      show(result, errorBox(e));
    }
  }

  load();
}
