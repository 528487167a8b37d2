#!/usr/bin/env node
// Makes this machine able to run the whole test suite, then returns: the Debian packages the
// tests use, PostgreSQL on 127.0.0.1:5432, and the npm dependencies. `npm test` runs it first
// and `.ci/run` runs nothing else before `npm test`, so a fresh machine needs no other step.
// Standard library only: it runs before `npm ci`.
//
// As root (CI, these machines) it installs what is missing with apt-get; as another user it
// prints the one command to run and exits 1. KEYHOLD_TEST_ENV=check only checks.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { depsProblem, ensureDeps } from './deps.mjs';

const say = (msg) => process.stderr.write(`test-env: ${msg}\n`);
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const run = (cmd) => execSync(cmd, { stdio: 'inherit' });

// What each test layer needs, as a check and the Debian package that satisfies it.
const PACKAGES = [
  { pkg: 'awscli', why: 'AWS CLI v2 tests', ok: () => existsSync('/usr/bin/aws') },
  { pkg: 'openssl', why: 'openssl interop and BYOK wrapping', ok: () => has('openssl') },
  { pkg: 'curl', why: 'curl --aws-sigv4 against the XKS proxy', ok: () => has('curl') },
  {
    pkg: 'softhsm2',
    why: 'PKCS#11 key stores and the XKS proxy backend',
    ok: () => existsSync('/usr/lib/softhsm/libsofthsm2.so'),
  },
  { pkg: 'opensc', why: 'pkcs11-tool in the proxy CLI test', ok: () => has('pkcs11-tool') },
  {
    pkg: 'chromium',
    why: 'console browser tests',
    ok: () => existsSync(process.env.KEYHOLD_CHROMIUM ?? '/usr/bin/chromium'),
  },
  {
    pkg: 'nginx',
    why: 'the shipped nginx config check',
    ok: () => has('nginx') || existsSync('/usr/sbin/nginx'),
  },
  {
    pkg: 'postgresql',
    why: 'storage conformance and multi-node tests',
    ok: () => has('pg_isready') && existsSync('/etc/postgresql'),
  },
];

const checkOnly = process.env.KEYHOLD_TEST_ENV === 'check';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const missing = PACKAGES.filter((p) => !p.ok());
if (missing.length > 0) {
  const names = missing.map((p) => p.pkg).join(' ');
  for (const p of missing) say(`missing ${p.pkg} (${p.why})`);
  if (checkOnly || !isRoot || !has('apt-get')) {
    say(`install them first: sudo apt-get update && sudo apt-get install -y ${names}`);
    process.exit(1);
  }
  say(`installing: ${names}`);
  run('apt-get update -qq');
  run(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${names}`);
  const still = PACKAGES.filter((p) => !p.ok());
  if (still.length > 0) {
    say(`still missing after apt-get: ${still.map((p) => p.pkg).join(' ')}`);
    process.exit(1);
  }
}

// PostgreSQL: the tests use postgres://postgres@127.0.0.1:5432 unless KEYHOLD_TEST_PG_URL says
// otherwise (then that server is the caller's to run).
const pgReady = () =>
  spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432'], { stdio: 'ignore' }).status ===
  0;
if (!process.env.KEYHOLD_TEST_PG_URL && !pgReady()) {
  const versions = readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b));
  const version = versions.at(-1);
  if (checkOnly || !isRoot || !version) {
    say('PostgreSQL is not answering on 127.0.0.1:5432 (trust auth for user postgres).');
    say(`start it: sudo pg_ctlcluster ${version ?? '<version>'} main start`);
    process.exit(1);
  }
  say(`starting PostgreSQL ${version}`);
  run(`pg_ctlcluster --skip-systemctl-redirect ${version} main start`);
  const deadline = Date.now() + 30_000;
  while (!pgReady()) {
    if (Date.now() > deadline) {
      say('PostgreSQL did not become ready within 30 s');
      process.exit(1);
    }
    spawnSync('sleep', ['1']);
  }
}

// Terraform and its provider are no Debian package (and need the network to fetch): say so
// now, not only when test/integration/terraform.test.ts fails.
const terraform = process.env.KEYHOLD_TERRAFORM ?? '/usr/local/bin/terraform';
const mirror = process.env.KEYHOLD_TERRAFORM_MIRROR ?? '/opt/tf-plugins';
if (
  process.env.KEYHOLD_SKIP_TERRAFORM !== '1' &&
  (!existsSync(terraform) || !existsSync(`${mirror}/registry.terraform.io/hashicorp/aws`))
)
  say(
    `WARNING: ${terraform} or the hashicorp/aws mirror in ${mirror} is missing: the Terraform ` +
      'scenario will fail (install them, or set KEYHOLD_SKIP_TERRAFORM=1 to skip it)',
  );

// npm dependencies, when missing, stale or installed by another Node major.
if (checkOnly) {
  const problem = depsProblem();
  if (problem !== undefined) {
    say(`npm dependencies ${problem}: run npm ci`);
    process.exit(1);
  }
} else ensureDeps({ log: say });
