// Line diff: the longest common subsequence of the lines that differ,
// after the common head and tail are set aside. The LCS table has one cell
// per pair of differing lines, so it is capped: two very different modules
// of many thousand lines each are not diffed line by line (that would need
// gigabytes) but reported as too large, with their line counts.

// MAX_CELLS caps the LCS table: 4,000,000 Uint32 cells are 16 MB, and e.g.
// 2,000 differing lines on each side.
export const MAX_CELLS = 4000000;

// diffLines compares two texts line by line. It returns {lines, tooLarge,
// oldLines, newLines}: lines is [{op: ' ' | '+' | '-', text, a, b}] where a
// and b are 1-based line numbers in the old and new text (0 where the line
// is not in that side), or null when the differing middle needs more than
// maxCells table cells (tooLarge); oldLines and newLines count the lines of
// each text.
export function diffLines(oldText, newText, maxCells = MAX_CELLS) {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const res = { lines: null, tooLarge: false, oldLines: a.length, newLines: b.length };
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  if (n > 0 && m > 0 && (n + 1) * (m + 1) > maxCells) { res.tooLarge = true; return res; }
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const out = [];
  for (let i = 0; i < head; i += 1) out.push({ op: ' ', text: a[i], a: i + 1, b: i + 1 });
  // lcs[i][j]: length of the LCS of am[i:] and bm[j:], row-major.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i * w + j] = am[i] === bm[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) {
      out.push({ op: ' ', text: am[i], a: head + i + 1, b: head + j + 1 }); i += 1; j += 1;
    } else if (i < n && (j >= m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      out.push({ op: '-', text: am[i], a: head + i + 1, b: 0 }); i += 1;
    } else {
      out.push({ op: '+', text: bm[j], a: 0, b: head + j + 1 }); j += 1;
    }
  }
  for (let k = 0; k < tail; k += 1) {
    out.push({ op: ' ', text: a[a.length - tail + k], a: a.length - tail + k + 1, b: b.length - tail + k + 1 });
  }
  res.lines = out;
  return res;
}

function splitLines(text) {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// hunks groups a diff's lines into runs of changes with `context` unchanged lines
// around them: [{lines: [...], skippedBefore}] plus the unchanged count
// left after the last hunk.
export function hunks(diff, context = 3) {
  const keep = new Array(diff.length).fill(false);
  diff.forEach((d, idx) => {
    if (d.op === ' ') return;
    for (let k = Math.max(0, idx - context); k <= Math.min(diff.length - 1, idx + context); k += 1) keep[k] = true;
  });
  const out = [];
  let cur = null;
  let skipped = 0;
  diff.forEach((d, idx) => {
    if (!keep[idx]) { skipped += 1; cur = null; return; }
    if (!cur) { cur = { lines: [], skippedBefore: skipped }; out.push(cur); skipped = 0; }
    cur.lines.push(d);
  });
  return { hunks: out, skippedAfter: skipped };
}

// changed reports whether a diff has any added or removed line (a diff
// too large to make always has).
export const changed = (diff) => diff.tooLarge || diff.lines.some((d) => d.op !== ' ');
