// A code editor: a plain <textarea> (so typing, selection, undo and
// screen readers work as usual) over a highlighted <pre> that shows the
// same text, with a line-number gutter. Tab keeps moving focus, so the
// editor is never a keyboard trap.
import { h } from './dom.js';
import { highlight } from './rego.js';

export function createEditor({ value = '', labelKey, labelArgs, onInput, id }) {
  const code = h('code', {});
  const pre = h('pre', { class: 'editor-hl', 'aria-hidden': 'true' }, code);
  const gutter = h('pre', { class: 'editor-gutter', 'aria-hidden': 'true' });
  const ta = h('textarea', {
    class: 'editor-src', id, spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off',
    wrap: 'off', i18nAria: labelKey, i18nArgs: labelArgs,
  });
  ta.value = value;
  const area = h('div', { class: 'editor-area' }, pre, ta);
  const el = h('div', { class: 'editor' }, gutter, area);

  let lines = -1;
  let pending = false;
  const render = () => {
    pending = false;
    highlight(code, ta.value);
    const n = ta.value.split('\n').length;
    if (n !== lines) {
      lines = n;
      gutter.textContent = Array.from({ length: n }, (_, k) => String(k + 1)).join('\n') + '\n ';
    }
    sync();
  };
  const sync = () => {
    pre.scrollTop = ta.scrollTop;
    pre.scrollLeft = ta.scrollLeft;
    gutter.scrollTop = ta.scrollTop;
  };
  ta.addEventListener('input', () => {
    if (!pending) { pending = true; requestAnimationFrame(render); }
    if (onInput) onInput(ta.value);
  });
  ta.addEventListener('scroll', sync);
  render();
  return {
    el,
    textarea: ta,
    getValue: () => ta.value,
    setValue: (v) => { ta.value = v; render(); },
  };
}
