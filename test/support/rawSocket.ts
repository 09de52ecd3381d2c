import WebSocket from 'ws';

export interface RawSocket {
  socket: WebSocket;
  /** Every message received so far, parsed. */
  messages: any[];
  send(message: unknown): void;
  /** Resolves with the first message (from the start, or after `after` messages) that `predicate` accepts. */
  next(predicate: (message: any) => boolean, options?: { after?: number; ms?: number }): Promise<any>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/**
 * A WebSocket that speaks whatever the test writes: for asserting a subprotocol's exact messages
 * (what Apollo Kotlin sends, and what the server answers), where no npm client speaks as it does.
 */
export function openRawSocket(httpUrl: string, protocols: string | string[], headers: Record<string, string> = {}): Promise<RawSocket> {
  const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), protocols, { headers });
  const messages: any[] = [];
  const waiters = new Set<() => void>();
  let closedWith: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => {
      closedWith = { code, reason: String(reason) };
      resolve(closedWith);
      waiters.forEach((w) => w());
    }),
  );
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    waiters.forEach((w) => w());
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () =>
      resolve({
        socket,
        messages,
        closed,
        send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
        close: () => socket.close(),
        next(predicate, { after = 0, ms = 10_000 } = {}) {
          return new Promise((resolveNext, rejectNext) => {
            const check = () => {
              const found = messages.slice(after).find(predicate);
              if (found !== undefined || closedWith) {
                waiters.delete(check);
                clearTimeout(timer);
                if (found !== undefined) resolveNext(found);
                else rejectNext(new Error(`socket closed (${JSON.stringify(closedWith)}); messages: ${JSON.stringify(messages)}`));
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rejectNext(new Error(`no such message in time; messages: ${JSON.stringify(messages)}`));
            }, ms);
            waiters.add(check);
            check();
          });
        },
      }),
    );
  });
}
