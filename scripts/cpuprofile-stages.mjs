/**
 * `node scripts/cpuprofile-stages.mjs <file>.cpuprofile`: where a keyhold process's main
 * thread went, by request stage (docs/benchmarks.md "CPU per request"). Every non-idle
 * sample is charged to the stage of the nearest keyhold (dist/ or node_modules) frame on its
 * stack, so node:crypto or JSON work counts for the stage that asked for it; samples with no
 * such frame are GC, node:http/sockets or "other". Prints each stage's share of busy time.
 */
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const rules = [
  [/sqlite-change-log/, 'invalidation check (PRAGMA data_version)'],
  [/\/auth\//, 'SigV4'],
  [
    /protocol\/validate|pipeline\/kms\.js.*parseJson|protocol\/request-body/,
    'body read, JSON parse, model validation',
  ],
  [/key-cache|key-resolver|sqlite-storage|use-key|key-state/, 'key resolution + cache'],
  [/authz\/|kms\/authorize/, 'authorization'],
  [/hsm\/|kms\/symmetric|hsm-errors|domain-keys/, 'HSM (KDF + AES-GCM)'],
  [/audit\/|threaded-audit|audit-anchors/, 'audit (build, JSON, chain MAC, hand-off)'],
  [/protocol\/json|http-message|wire-errors/, 'response encode + write'],
  [/metrics\/|prom-client/, 'metrics'],
  [/pino/, 'logging'],
  [/kms\/operations|kms\/key-usage|kms\//, 'operation (other kms/)'],
  [/server\/pipeline|server\/app|server\/edge/, 'pipeline glue (promises, ids)'],
];
const stageOf = (id) => {
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    const k = cf.url + ' ' + cf.functionName;
    if (!cf.url.includes('/dist/') && !cf.url.includes('node_modules')) continue;
    for (const [re, s] of rules) if (re.test(k)) return s;
  }
  const cf = byId.get(id).callFrame;
  if (cf.functionName === '(garbage collector)') return 'GC';
  if (cf.functionName === '(idle)') return null;
  if (/_http|net|stream|writev|http/.test(cf.url + cf.functionName))
    return 'node:http / sockets (no keyhold frame)';
  return 'other (no keyhold frame: microtasks, timers, program)';
};
const tot = new Map();
let all = 0;
for (let i = 0; i < p.samples.length; i++) {
  const s = stageOf(p.samples[i]);
  if (s === null) continue;
  const d = p.timeDeltas[i] ?? 0;
  tot.set(s, (tot.get(s) ?? 0) + d);
  all += d;
}
for (const [s, t] of [...tot].sort((a, b) => b[1] - a[1]))
  console.log(`| ${s} | ${((100 * t) / all).toFixed(1)} % |`);
console.log('busy ms', (all / 1000).toFixed(0));
