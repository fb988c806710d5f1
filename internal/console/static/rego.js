// A small Rego tokenizer for syntax highlighting. It never fails: text it
// does not recognise comes back as plain tokens, and the tokens' text
// joined together is always the input.

export const KEYWORDS = new Set([
  'package', 'import', 'default', 'not', 'with', 'as', 'some', 'every',
  'in', 'if', 'contains', 'else',
]);
const CONSTANTS = new Set(['true', 'false', 'null']);
const OPERATORS = [':=', '==', '!=', '<=', '>=', '<', '>', '=', '+', '-', '*', '/', '%', '|', '&'];
const PUNCT = new Set(['(', ')', '[', ']', '{', '}', ',', ';', '.', ':']);

const isIdentStart = (c) => /[A-Za-z_]/.test(c);
const isIdent = (c) => /[A-Za-z0-9_]/.test(c);
const isDigit = (c) => c >= '0' && c <= '9';

// tokenize returns [{type, text}] with type one of comment, string,
// keyword, constant, number, operator, punct, rulehead, ident, space.
export function tokenize(src) {
  const out = [];
  let i = 0;
  let lineStart = true; // no token but space yet on this line
  let indented = false; // the line starts with space
  let afterDefault = false;
  const push = (type, text) => {
    if (text === '') return;
    const last = out[out.length - 1];
    if (last && last.type === type && (type === 'space' || type === 'plain')) last.text += text;
    else out.push({ type, text });
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      push('space', c); i += 1; lineStart = true; indented = false; continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      let j = i;
      while (j < src.length && (src[j] === ' ' || src[j] === '\t' || src[j] === '\r')) j += 1;
      if (lineStart) indented = true;
      push('space', src.slice(i, j)); i = j; continue;
    }
    const atLineStart = lineStart && !indented;
    lineStart = false;
    if (c === '#') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = src.length;
      push('comment', src.slice(i, j)); i = j; continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"' && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      if (j < src.length && src[j] === '"') j += 1;
      push('string', src.slice(i, Math.min(j, src.length))); i = Math.min(j, src.length); continue;
    }
    if (c === '`') {
      let j = src.indexOf('`', i + 1);
      j = j < 0 ? src.length : j + 1;
      const text = src.slice(i, j);
      push('string', text);
      if (text.includes('\n')) { lineStart = false; indented = true; }
      i = j; continue;
    }
    if (isDigit(c)) {
      const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i, i + 64));
      push('number', m[0]); i += m[0].length; continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < src.length && isIdent(src[j])) j += 1;
      const word = src.slice(i, j);
      let type = 'ident';
      if (KEYWORDS.has(word)) type = 'keyword';
      else if (CONSTANTS.has(word)) type = 'constant';
      else if (afterDefault || (atLineStart && looksLikeHead(src, j))) type = 'rulehead';
      afterDefault = word === 'default';
      push(type, word); i = j; continue;
    }
    afterDefault = false;
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) { push('operator', op); i += op.length; continue; }
    if (PUNCT.has(c)) { push('punct', c); i += 1; continue; }
    push('plain', c); i += 1;
  }
  return out;
}

// looksLikeHead: after an identifier at the start of a line, a rule head
// goes on with a body, a value, a key or arguments.
function looksLikeHead(src, j) {
  const rest = src.slice(j, j + 40);
  return /^\s*(:=|=|\{|\[|\(|if\b|contains\b|\.|\s*$|\s*\n|\s*#)/.test(rest);
}

// highlight renders src into the element as spans, one per token, with
// class tok-<type>. Text is set with text nodes only.
export function highlight(el, src) {
  const frag = document.createDocumentFragment();
  for (const tok of tokenize(src)) {
    if (tok.type === 'space' || tok.type === 'plain' || tok.type === 'ident') {
      frag.appendChild(document.createTextNode(tok.text));
    } else {
      const span = document.createElement('span');
      span.className = `tok-${tok.type}`;
      span.textContent = tok.text;
      frag.appendChild(span);
    }
  }
  // A trailing newline needs something after it to take up its line.
  frag.appendChild(document.createTextNode(src.endsWith('\n') || src === '' ? ' ' : ''));
  el.replaceChildren(frag);
}
