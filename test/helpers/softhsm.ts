/**
 * SoftHSM2 tokens for tests. SoftHSM2 reads SOFTHSM2_CONF once, at C_Initialize, so a test
 * process uses ONE private config and token directory (under os.tmpdir(), removed at exit)
 * and every token it needs is a separately labelled token in that directory.
 *
 * Before this process has loaded the module, tokens are made with
 * `softhsm2-util --init-token --free` (as an operator would). After that SoftHSM2 no longer
 * sees new token directories, so tokens are initialised in-process through the free slot
 * (C_InitToken + C_InitPIN via the same shared module). Child processes (e.g. a spawned
 * `keyhold xks-proxy`) get `softHsmEnv()` and see every token made so far.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initToken, isModuleLoaded, loadModule } from '../../src/pkcs11/index.js';

export const SOFTHSM_MODULE =
  process.env.KEYHOLD_TEST_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  modulePath: string;
  label: string;
  soPin: string;
  userPin: string;
  /** The process-wide SOFTHSM2_CONF (same for every token of this process). */
  confPath: string;
  /** Deletes the token when this process has not loaded the module (else left to exit cleanup). */
  cleanup(): void;
}

let conf: { dir: string; path: string } | undefined;

/** Whether SoftHSM2 is installed (tests skip with a reason otherwise). */
export function softHsmAvailable(): boolean {
  return existsSync(SOFTHSM_MODULE);
}

/** The process-wide config; created on first use and set as SOFTHSM2_CONF. */
export function softHsmConf(): string {
  if (conf === undefined) {
    if (isModuleLoaded(SOFTHSM_MODULE))
      throw new Error('the PKCS#11 module was loaded before the test SoftHSM2 config was made');
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-softhsm-'));
    mkdirSync(join(dir, 'tokens'));
    const path = join(dir, 'softhsm2.conf');
    writeFileSync(
      path,
      `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    );
    conf = { dir, path };
    process.env.SOFTHSM2_CONF = path;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return conf.path;
}

/** Environment for a child process that must see this process's tokens. */
export function softHsmEnv(): Record<string, string> {
  return { SOFTHSM2_CONF: softHsmConf() };
}

/** Create and initialise a token (random label unless given) with a user PIN. */
export function createSoftHsmToken(
  opts: { label?: string; userPin?: string; soPin?: string; noUserPin?: boolean } = {},
): SoftHsmToken {
  const confPath = softHsmConf();
  const label = opts.label ?? `kh-${randomBytes(6).toString('hex')}`;
  const soPin = opts.soPin ?? `so-${randomBytes(6).toString('hex')}`;
  const userPin = opts.userPin ?? `pin-${randomBytes(8).toString('hex')}`;
  if (opts.noUserPin === true) {
    // A token whose user PIN was never set (AWS: no kmsuser): only C_InitToken, in-process.
    const mod = loadModule(SOFTHSM_MODULE);
    const free = mod
      .C_GetSlotList(true)
      .find((s) => (mod.C_GetTokenInfo(s).flags & 0x400) === 0 /* CKF_TOKEN_INITIALIZED */);
    if (free === undefined) throw new Error('no free SoftHSM2 slot');
    mod.C_InitToken(free, soPin, label.padEnd(32, ' '));
  } else if (isModuleLoaded(SOFTHSM_MODULE)) {
    initToken(loadModule(SOFTHSM_MODULE), label, soPin, userPin);
  } else {
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', userPin],
      { env: { ...process.env, SOFTHSM2_CONF: confPath }, stdio: 'ignore' },
    );
  }
  let cleaned = false;
  return {
    modulePath: SOFTHSM_MODULE,
    label,
    soPin,
    userPin,
    confPath,
    cleanup() {
      if (cleaned || isModuleLoaded(SOFTHSM_MODULE)) return;
      cleaned = true;
      execFileSync('softhsm2-util', ['--delete-token', '--token', label], {
        env: { ...process.env, SOFTHSM2_CONF: confPath },
        stdio: 'ignore',
      });
    },
  };
}
