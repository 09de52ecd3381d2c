import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/projectRoot.js';

const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; name: string }[] };

/** The id of a first-party operation (`persisted-queries/first-party/<name>.graphql`). */
export const firstPartyId = (name: string) => manifest.operations.find((o) => o.name === name)!.id;

/** The request body of a first-party operation sent by hash, as Apollo Kotlin / iOS send it. */
export const byHash = (name: string, variables: Record<string, unknown> = {}) => ({ operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: firstPartyId(name) } } });
