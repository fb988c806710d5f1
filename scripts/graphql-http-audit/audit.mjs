// Runs graphql-http's server audit (auditServer) against the GraphQL
// endpoint given as the only argument, prints every result and exits 1 when
// a MUST or a SHOULD fails. MAYs are printed and allowed: certd serves
// GraphQL over POST only, so the audits of GET requests answer "notice".
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://HOST:PORT/graphql');
  process.exit(2);
}
const results = await auditServer({ url });
let failed = 0;
for (const r of results) {
  const level = r.name.split(' ', 1)[0];
  if (r.status === 'ok') {
    console.log(`ok      ${r.name}`);
    continue;
  }
  const mustOrShould = level === 'MUST' || level === 'SHOULD';
  if (mustOrShould) failed++;
  console.log(`${mustOrShould ? 'FAIL' : 'notice'}  ${r.name}: ${r.reason}`);
  if (mustOrShould) {
    let body = '';
    try { body = await r.response.text(); } catch { /* already read */ }
    console.log(`        HTTP ${r.response.status} ${r.response.headers.get('content-type')} ${body.slice(0, 300)}`);
  }
}
const n = (s) => results.filter((r) => r.status === s).length;
console.log(`graphql-http ${results.length} audits: ${n('ok')} ok, ${failed} MUST/SHOULD failed, ${results.length - n('ok') - failed} MAY not done`);
process.exit(failed > 0 ? 1 : 0);
