import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeManifests } from '../support/apolloManifest.js';
import { startTestSystem } from '../support/startTestSystem.js';

// Start-up refuses what cannot work: a server without its manifests would refuse every app, and
// that must stop the deploy, naming the variable to fix, rather than the users.
describe('start-up with the persisted-query manifests missing', () => {
  it('refuses a PERSISTED_QUERIES_DIR that does not exist, naming the variable', async () => {
    const missing = join(tmpdir(), `no-such-manifests-${process.pid}-${Date.now()}`);
    await expect(startTestSystem({ PERSISTED_QUERIES_DIR: missing })).rejects.toThrow(new RegExp(`^PERSISTED_QUERIES_DIR: ${missing} is not a folder`));
  });

  it('refuses a folder without any manifest in require mode, naming the variable', async () => {
    const empty = writeManifests({});
    await expect(startTestSystem({ PERSISTED_QUERIES_DIR: empty, PERSISTED_OPERATIONS: 'require' })).rejects.toThrow(/^PERSISTED_QUERIES_DIR: no persisted operation in .*PERSISTED_OPERATIONS=require/);
  });

  it('starts with an empty folder when text is allowed (PERSISTED_OPERATIONS=off)', async () => {
    const system = await startTestSystem({ PERSISTED_QUERIES_DIR: writeManifests({}), PERSISTED_OPERATIONS: 'off' });
    try {
      expect((await system.gql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await system.stop();
    }
  });
});
