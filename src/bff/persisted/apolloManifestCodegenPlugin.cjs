// A graphql-codegen plugin: writes the first-party operations as an Apollo persisted-query
// manifest (`apollo-persisted-query-manifest`, version 1), the format mobile clients ship, so the
// BFF loads first-party and mobile manifests alike. Each body is the operation followed by the
// fragments it uses (transitively, sorted by name); the id is the sha256 of that body.
const { createHash } = require('node:crypto');
const { Kind, print, visit } = require('graphql');

function fragmentsUsedBy(node, fragments, seen = new Set()) {
  visit(node, {
    FragmentSpread(spread) {
      const name = spread.name.value;
      if (seen.has(name)) return;
      const fragment = fragments.get(name);
      if (!fragment) throw new Error(`Unknown fragment ${name}`);
      seen.add(name);
      fragmentsUsedBy(fragment, fragments, seen);
    },
  });
  return seen;
}

module.exports = {
  plugin(_schema, documents) {
    const definitions = documents.flatMap((d) => d.document.definitions);
    const fragments = new Map(definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
    const operations = definitions
      .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
      .map((operation) => {
        if (!operation.name) throw new Error('First-party operations must be named');
        const used = [...fragmentsUsedBy(operation, fragments)].sort().map((name) => fragments.get(name));
        const body = [operation, ...used].map((d) => print(d)).join('\n\n');
        return { id: createHash('sha256').update(body).digest('hex'), body, name: operation.name.value, type: operation.operation };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    return `${JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }, null, 2)}\n`;
  },
};
