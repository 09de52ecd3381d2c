import type { Context } from '../context.js';
import { clientError, ErrorCode } from '../errors/index.js';
import type { Resolvers } from '../generated/resolvers.js';
import { fromGlobalId } from '../ids/globalId.js';
import type { NodeModel } from '../models.js';

const MAX_NODES = 100;

/** Resolves one global ID through the request's loaders; unknown, malformed or not the viewer's → `null`. */
async function loadNode(id: string, ctx: Context): Promise<NodeModel | null> {
  const parsed = fromGlobalId(id);
  if (!parsed) return null;
  switch (parsed.type) {
    case 'Product':
      return ctx.loaders.products.load(parsed.key);
    case 'User':
      return ctx.viewer?.sub === parsed.key ? ctx.viewerProfile() : null;
    case 'Order': {
      if (!ctx.viewer) return null;
      const order = await ctx.loaders.orders.load(parsed.key);
      return order && order.userId === ctx.viewer.sub ? order : null;
    }
  }
}

export const nodeResolvers: Resolvers = {
  Query: {
    node: (_parent, { id }, ctx) => loadNode(id, ctx),
    // One promise per id: a failing service nulls only its own entries, and the loaders batch per type.
    nodes: (_parent, { ids }, ctx) => {
      if (ids.length > MAX_NODES) throw clientError(ErrorCode.BadUserInput, `ids: expected at most ${MAX_NODES} ids, got ${ids.length}.`, { argument: 'ids' });
      return ids.map((id) => loadNode(id, ctx)) as unknown as NodeModel[];
    },
  },
  Node: {
    __resolveType: (node) => node.__typename,
  },
};
