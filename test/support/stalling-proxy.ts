import net from 'node:net';

/**
 * A TCP proxy that can stop forwarding: put between the server and PostgreSQL, it plays a
 * database (or a network) that keeps the connection open and never answers. While stalled it
 * passes nothing on, in either direction, on any connection, new ones included (it still
 * accepts them, as a hung server's kernel does); `resume()` lets the traffic flow again, what
 * was held included.
 */
export interface StallingProxy {
  readonly port: number;
  /** Connections that ended since the proxy started (closed by either side). */
  readonly closed: number;
  /** Connections open now. */
  readonly open: number;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startStallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  let stalled = false;
  let closed = 0;
  // What arrived while stalled, in order, for the side it was going to.
  let held: [net.Socket, Buffer][] = [];
  const pairs = new Set<[net.Socket, net.Socket]>();
  // Both sides keep reading, so that a side that closes is seen at once, even while stalled.
  const forward = (from: net.Socket, to: net.Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (stalled) held.push([to, chunk]);
      else to.write(chunk);
    });
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    forward(client, upstream);
    forward(upstream, client);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      closed += 1;
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get closed() {
      return closed;
    },
    get open() {
      return pairs.size;
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      const release = held;
      held = [];
      for (const [to, chunk] of release) if (!to.destroyed) to.write(chunk);
    },
    async close() {
      for (const pair of pairs) for (const socket of pair) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
