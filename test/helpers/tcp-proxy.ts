import net from 'node:net';

/**
 * A TCP proxy in front of a real server (PostgreSQL, Temporal) that plays its outages: a server
 * that hangs (freeze), one that restarts (reset), and one whose connections died without a word
 * (dropSilently: a host that went away, a network device that forgot them).
 */
export interface TcpProxy {
  port: number;
  /** Stops forwarding in both directions; new connections are accepted and left unanswered. */
  freeze(): void;
  /** Forwards again, including what was held back. */
  thaw(): void;
  /** Closes every connection, as a server restart does. */
  reset(): void;
  /** Forgets every connection without telling the client, who learns of it (a reset) only when it next sends. */
  dropSilently(): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  dropped: boolean;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let frozen = false;
  const held: (() => void)[] = [];
  const pairs = new Set<Pair>();

  // A frozen proxy keeps each chunk, in order, for thaw().
  const send = (to: net.Socket, chunk: Buffer) => (frozen ? held.push(() => to.write(chunk)) : to.write(chunk));

  const server = net.createServer((client) => {
    const pair: Pair = { client, upstream: net.connect(targetPort, targetHost), dropped: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream.destroy();
    };
    client.on('data', (chunk) => (pair.dropped ? client.resetAndDestroy() : send(pair.upstream, chunk)));
    pair.upstream.on('data', (chunk) => send(client, chunk));
    client.on('error', end).on('close', end);
    pair.upstream.on('error', end).on('close', () => pair.dropped || end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const reset = () => {
    held.length = 0;
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => void (frozen = true),
    thaw() {
      frozen = false;
      held.splice(0).forEach((write) => write());
    },
    reset,
    dropSilently() {
      for (const pair of pairs) {
        pair.dropped = true;
        pair.upstream.destroy();
      }
    },
    async close() {
      reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
