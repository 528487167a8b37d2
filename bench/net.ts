/** Small network helpers the benchmarks share. */
import { get as httpGet } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port free on `host` right now (the OS picks it; the listener is closed again). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

/** The status of a GET to `url`, or 0 when it fails or takes over a second. */
export function httpStatus(url: string): Promise<number> {
  return new Promise((res) => {
    const req = httpGet(url, { agent: false, timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('error', () => res(0));
    req.on('timeout', () => req.destroy());
  });
}
