/**
 * A free TCP port on 127.0.0.1, for tests and harnesses that must name a port before the process
 * that binds it starts (a coordinator address given to workers, a Prometheus scrape target).
 */
import { createServer } from 'node:net';

/** Bind port 0, read the port the kernel chose, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
