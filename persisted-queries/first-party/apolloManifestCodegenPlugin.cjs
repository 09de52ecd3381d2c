// A graphql-codegen plugin: writes the first-party operations as an Apollo persisted-query manifest
// (`apollo-persisted-query-manifest`, version 1), the format mobile clients ship, so the BFF loads
// first-party and mobile manifests alike. The manifest is made by Apollo's own generator
// (@apollo/generate-persisted-query-manifest), which runs each operation through Apollo Client:
// `__typename` in every selection set but the operation's root, the fragments it uses appended and
// the definitions sorted, printed as Apollo Client prints them. So the ids are the ones web Apollo
// Client computes with @apollo/persisted-query-lists, and a response has the `__typename`s its cache
// needs to store fragment data.
const { generatePersistedQueryManifest } = require('@apollo/generate-persisted-query-manifest');

module.exports = {
  async plugin(_schema, documents) {
    const files = documents.map((d) => d.location).filter(Boolean);
    const { format, version, operations } = await generatePersistedQueryManifest({ documents: files }, undefined);
    const sorted = [...operations].sort((a, b) => a.name.localeCompare(b.name)).map(({ id, body, name, type }) => ({ id, body, name, type }));
    return `${JSON.stringify({ format, version, operations: sorted }, null, 2)}\n`;
  },
};
