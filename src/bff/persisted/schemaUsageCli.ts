import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createSchema, readTypeDefs } from '../createSchema.js';
import { loadPersistedOperations, ManifestError } from './loadPersistedOperations.js';
import { appVersionLabel, byAppVersion, schemaUsage, type SchemaElementUsage } from './schemaUsage.js';

// `npm run schema:usage [-- --deprecated] [--json] [--schema <dir>]`: which app versions (manifests
// in PERSISTED_QUERIES_DIR) use each field and argument of the schema, worked out offline.
const USAGE = 'usage: npm run schema:usage [-- --deprecated] [--json] [--schema <dir of *.graphql>]';
let args: { deprecated?: boolean; json?: boolean; schema?: string; help?: boolean };
try {
  ({ values: args } = parseArgs({ options: { deprecated: { type: 'boolean' }, json: { type: 'boolean' }, schema: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const dir = resolve(process.env.PERSISTED_QUERIES_DIR || 'persisted-queries');
// The SDL alone (a proposed schema, say) is enough to validate and walk the documents.
const schema = args.schema ? makeExecutableSchema({ typeDefs: readTypeDefs(resolve(args.schema)) }) : createSchema();
let usage: SchemaElementUsage[];
try {
  usage = schemaUsage(schema, loadPersistedOperations(schema, dir));
} catch (error) {
  if (!(error instanceof ManifestError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

const deprecatedInUse = usage.filter((e) => e.deprecationReason !== null && e.usedBy.length > 0);

/** The deprecated elements still used, by app version. */
function byVersion() {
  const versions = new Map<string, { manifest: string; clientName: string | null; version: string | null; deprecated: { coordinate: string; kind: string; deprecationReason: string; operations: string[] }[] }>();
  for (const element of deprecatedInUse) {
    for (const user of element.usedBy) {
      let entry = versions.get(user.manifest);
      if (!entry) versions.set(user.manifest, (entry = { manifest: user.manifest, clientName: user.clientName, version: user.version, deprecated: [] }));
      entry.deprecated.push({ coordinate: element.coordinate, kind: element.kind, deprecationReason: element.deprecationReason!, operations: user.operations });
    }
  }
  return [...versions.values()].sort(byAppVersion);
}

const lines: string[] = [];
if (args.deprecated) {
  const versions = byVersion();
  if (args.json) lines.push(JSON.stringify({ manifests: dir, appVersions: versions }, null, 2));
  else if (!versions.length) lines.push(`No app version in ${dir} uses a deprecated field, argument, input field or enum value.`);
  else {
    lines.push(`Deprecated schema elements still used, by app version (${dir}):`);
    for (const v of versions) {
      lines.push(`${appVersionLabel(v)} (${v.manifest})`);
      for (const d of v.deprecated) lines.push(`  ${d.coordinate}  deprecated: ${d.deprecationReason}  used by ${d.operations.join(', ')}`);
    }
  }
} else if (args.json) {
  lines.push(JSON.stringify({ manifests: dir, elements: usage }, null, 2));
} else {
  const width = Math.max(...usage.map((e) => e.coordinate.length + (e.deprecationReason !== null ? 13 : 0)));
  lines.push(`Schema elements and the app versions (manifests in ${dir}) whose operations use them:`);
  for (const e of usage) {
    const name = e.deprecationReason !== null ? `${e.coordinate} (deprecated)` : e.coordinate;
    lines.push(`${name.padEnd(width)}  ${e.usedBy.length ? e.usedBy.map(appVersionLabel).join(', ') : '-'}`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
