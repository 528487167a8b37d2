/**
 * A bounded pool of logged-in R/W sessions on one token. PKCS#11 login state belongs to the
 * application, not the session: once one session has logged in, sessions opened later are
 * logged in too, and closing the last session logs the user out. So a new session checks
 * its state and logs in only when needed. A session that returns a fatal CKR_* code
 * (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_ERROR, CKR_TOKEN_NOT_PRESENT, ...) is closed and
 * dropped; the next acquire opens a fresh one.
 */
import { pk, type Handle, type PKCS11 } from './binding.js';
import { isFatal, Pkcs11Error, toPkcs11Error } from './errors.js';
import { call } from './module.js';
import { droppedSessions, type PoolStats } from './metrics.js';

/** PKCS#11 session state "R/W user functions" (logged in); pkcs11js does not export CKS_*. */
const CKS_RW_USER_FUNCTIONS = 3;

export type { PoolStats };

interface Waiter {
  resolve(s: Handle): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class SessionPool {
  private readonly idle: Handle[] = [];
  private readonly waiters: Waiter[] = [];
  private inUse = 0;
  private closed = false;

  constructor(
    private readonly mod: PKCS11,
    private readonly slot: Handle,
    private readonly pin: () => string,
    readonly max: number,
    private readonly acquireTimeoutMs: number,
    private readonly metricLabel: string,
  ) {}

  stats(): PoolStats {
    return {
      size: this.inUse + this.idle.length,
      inUse: this.inUse,
      idle: this.idle.length,
      max: this.max,
    };
  }

  /** Run `fn` on a pooled session; the session is dropped if `fn` fails with a fatal code. */
  async with<T>(method: string, fn: (session: Handle) => T): Promise<T> {
    const session = await this.acquire();
    let fatal = false;
    try {
      return fn(session);
    } catch (e) {
      const err = toPkcs11Error(e, method);
      fatal = isFatal(err.ckr);
      if (fatal) droppedSessions.inc({ token: this.metricLabel, ckr: err.ckr });
      throw err;
    } finally {
      this.release(session, fatal);
    }
  }

  /** Open (and if needed log in) one session now: connect uses this to test the PIN. */
  async acquire(): Promise<Handle> {
    if (this.closed) throw new Pkcs11Error('CKR_SESSION_CLOSED', 'acquire');
    const s = this.idle.pop();
    if (s !== undefined) {
      this.inUse++;
      return s;
    }
    if (this.inUse < this.max) {
      this.inUse++;
      try {
        return this.open();
      } catch (e) {
        this.inUse--;
        throw e;
      }
    }
    // Precondition: a bounded wait; AWS answers a burst beyond its sessions with an internal error.
    return new Promise<Handle>((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(new Pkcs11Error('CKR_SESSION_COUNT', 'acquire'));
        }, this.acquireTimeoutMs),
      };
      this.waiters.push(w);
    });
  }

  release(session: Handle, fatal: boolean): void {
    if (fatal || this.closed) {
      this.inUse--;
      this.closeQuietly(session);
      const w = this.waiters.shift();
      if (w !== undefined && !this.closed) {
        clearTimeout(w.timer);
        this.inUse++;
        try {
          w.resolve(this.open());
        } catch (e) {
          this.inUse--;
          w.reject(e as Error);
        }
      }
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) {
      clearTimeout(w.timer);
      w.resolve(session);
      return;
    }
    this.inUse--;
    this.idle.push(session);
  }

  /** Log out and close every session (the store disconnects). Waiters fail. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Pkcs11Error('CKR_SESSION_CLOSED', 'acquire'));
    }
    const first = this.idle[0];
    if (first !== undefined) {
      try {
        this.mod.C_Logout(first);
      } catch {
        // already logged out
      }
    }
    for (const s of this.idle.splice(0)) this.closeQuietly(s);
  }

  private open(): Handle {
    const s = call('C_OpenSession', () =>
      this.mod.C_OpenSession(this.slot, pk.CKF_RW_SESSION | pk.CKF_SERIAL_SESSION),
    );
    try {
      const state = call('C_GetSessionInfo', () => this.mod.C_GetSessionInfo(s)).state;
      if (state !== CKS_RW_USER_FUNCTIONS) {
        try {
          this.mod.C_Login(s, pk.CKU_USER, this.pin());
        } catch (e) {
          const err = toPkcs11Error(e, 'C_Login');
          if (err.ckr !== 'CKR_USER_ALREADY_LOGGED_IN') throw err;
        }
      }
      return s;
    } catch (e) {
      this.closeQuietly(s);
      throw e;
    }
  }

  private closeQuietly(s: Handle): void {
    try {
      this.mod.C_CloseSession(s);
    } catch {
      // the session is gone already (token removed, handle invalid)
    }
  }
}
