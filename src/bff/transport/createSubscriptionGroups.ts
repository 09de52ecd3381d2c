import type { ExecutionResult, GraphQLError } from 'graphql';
import WebSocket from 'ws';

/** The message type an event goes out as: `next` in graphql-transport-ws, `data` in the legacy graphql-ws. */
export type FrameType = 'next' | 'data';

interface Member {
  socket: WebSocket;
  /** `{"id":"<id>","type":"next","payload":` — the start of every event frame for this subscriber. */
  frameStart: string;
  end(error?: unknown): void;
}

interface Group {
  members: Set<Member>;
  source: AsyncIterator<ExecutionResult>;
}

const done = { done: true, value: undefined } as const;

/** A result as graphql-ws puts it in a `next` payload: errors as their JSON form. */
function serialize(result: ExecutionResult): string {
  const { errors, ...rest } = result;
  return JSON.stringify(errors ? { ...rest, errors: errors.map((e) => (typeof (e as GraphQLError).toJSON === 'function' ? (e as GraphQLError).toJSON() : e)) } : rest);
}

/**
 * Subscriptions that would produce the same results (see `sharedSubscriptionKey`) share one
 * source stream: each event is executed and serialized once, and the same payload is written to
 * every subscriber's socket with its own operation id — one change to a thousand subscribers
 * costs one feed read, one execution and a thousand socket writes.
 *
 * The first subscriber's stream becomes the group's; later ones close theirs unused and join.
 * A subscriber's graphql-ws operation stays open until the client completes it or leaves (then
 * it leaves the group; the last one out closes the stream) or the stream ends (then each gets
 * `complete`, or `error` if the stream failed). Frames go straight to the socket, as graphql-ws
 * writes them (`{"id","type":"next","payload"}`); a client that stops reading has its socket
 * dropped by the transport's buffered-bytes watchdog, and the group does not wait for it.
 */
export function createSubscriptionGroups() {
  const groups = new Map<string, Group>();
  let members = 0;

  function leave(key: string, group: Group, member: Member) {
    if (!group.members.delete(member)) return;
    members--;
    if (group.members.size > 0) return;
    if (groups.get(key) === group) groups.delete(key);
    void group.source.return?.()?.catch(() => {});
  }

  async function pump(key: string, group: Group) {
    let failure: unknown;
    try {
      for (;;) {
        const step = await group.source.next();
        if (step.done || group.members.size === 0) break;
        const payload = serialize(step.value);
        for (const member of group.members) {
          if (member.socket.readyState === WebSocket.OPEN) member.socket.send(`${member.frameStart}${payload}}`);
        }
      }
    } catch (error) {
      failure = error ?? new Error('subscription stream failed');
    } finally {
      if (groups.get(key) === group) groups.delete(key);
      const left = [...group.members];
      group.members.clear();
      members -= left.length;
      for (const member of left) member.end(failure);
    }
  }

  return {
    /**
     * Adds a subscriber (`id` on `socket`) to the group `key`, whose stream is `source` if the
     * group is new; otherwise `source` is closed unused. Returns what the socket's protocol
     * iterates for this operation: it yields nothing (the group writes the frames, as `type`
     * messages) and ends with the group.
     */
    join(key: string, source: AsyncIterable<ExecutionResult>, socket: WebSocket, id: string, type: FrameType = 'next'): AsyncIterableIterator<ExecutionResult> {
      let group = groups.get(key);
      if (group) {
        void source[Symbol.asyncIterator]().return?.()?.catch(() => {});
      } else {
        group = { members: new Set(), source: source[Symbol.asyncIterator]() };
        groups.set(key, group);
        void pump(key, group);
      }
      let settle!: { resolve: (r: IteratorResult<ExecutionResult>) => void; reject: (e: unknown) => void };
      const ended = new Promise<IteratorResult<ExecutionResult>>((resolve, reject) => (settle = { resolve, reject }));
      ended.catch(() => {});
      const member: Member = {
        socket,
        frameStart: `{"id":${JSON.stringify(id)},"type":"${type}","payload":`,
        end: (error) => (error === undefined ? settle.resolve(done) : settle.reject(error)),
      };
      group.members.add(member);
      members++;
      const joined = group;
      const stop = async () => {
        leave(key, joined, member);
        settle.resolve(done);
        return done;
      };
      return {
        [Symbol.asyncIterator]() {
          return this;
        },
        next: () => ended,
        return: stop,
        throw: stop,
      };
    },
    /** Subscribers of shared streams. */
    get subscribers() {
      return members;
    },
  };
}
