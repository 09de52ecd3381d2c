import { parse } from 'graphql';
import { createSchema } from '../../src/bff/createSchema.js';
import { cachePolicy } from '../../src/bff/persisted/cachePolicy.js';

// What the response cache (and Cache-Control) read from an operation: a fragment's fields are not
// root fields (the Home screen's ProductCard made the whole screen uncacheable), and a root field
// without a hint is marked, so that the server never caches it either.
describe('cache policy for the response cache', () => {
  const schema = createSchema();

  it('takes a fragment spread under a hinted field as that field\'s, not as a root field without a hint', () => {
    const home = parse(`query Home { viewer { id name } products(first: 2) { edges { node { ...Card } } } } fragment Card on Product { id name imageUrl(size: 256) }`);
    expect(cachePolicy(schema, home)).toEqual({ maxAge: 30, scope: 'PRIVATE' });
  });

  it('marks an operation with a root field without a hint', () => {
    expect(cachePolicy(schema, parse(`query { productChanges(since: null) { syncToken } }`))).toEqual({ maxAge: 0, scope: 'PUBLIC', unhintedRoot: true });
  });

  it('keeps an explicit maxAge 0 (revalidate every time) apart from no hint', () => {
    const orders = cachePolicy(schema, parse(`query { viewer { orders(first: 2) { edges { node { number } } } } }`));
    expect(orders).toEqual({ maxAge: 0, scope: 'PRIVATE' });
  });
});
