import { AuthError, cacheVerifiedTokens, type TokenVerifier } from '../../src/auth/index.js';

// A phone sends the same bearer token with every request: its signature is checked once, and its
// claims remembered until its `exp`, never longer; refusals are never remembered.
function countingVerifier(exp: number) {
  const calls: string[] = [];
  const verifier: TokenVerifier = {
    async verify(token) {
      calls.push(token);
      if (token === 'bad') throw new AuthError('The token is not valid.');
      return { sub: token, exp };
    },
  };
  return { verifier, calls };
}

describe('cacheVerifiedTokens', () => {
  it('verifies a token once and answers its claims again until its exp', async () => {
    let now = 1_000_000;
    const { verifier, calls } = countingVerifier(2_000);
    const cached = cacheVerifiedTokens(verifier, { now: () => now });
    expect(await cached.verify('a')).toEqual({ sub: 'a', exp: 2_000 });
    now = 1_999_999;
    expect(await cached.verify('a')).toEqual({ sub: 'a', exp: 2_000 });
    expect(calls).toEqual(['a']);
  });

  it('asks the verifier again once the token’s exp has passed', async () => {
    let now = 1_000_000;
    const { verifier, calls } = countingVerifier(2_000);
    const cached = cacheVerifiedTokens(verifier, { now: () => now });
    await cached.verify('a');
    now = 2_000_000;
    await cached.verify('a');
    expect(calls).toEqual(['a', 'a']);
  });

  it('never remembers a refusal', async () => {
    const { verifier, calls } = countingVerifier(2_000);
    const cached = cacheVerifiedTokens(verifier, { now: () => 1_000_000 });
    await expect(cached.verify('bad')).rejects.toThrow(AuthError);
    await expect(cached.verify('bad')).rejects.toThrow(AuthError);
    expect(calls).toEqual(['bad', 'bad']);
  });

  it('forgets the oldest token first when full', async () => {
    const { verifier, calls } = countingVerifier(2_000);
    const cached = cacheVerifiedTokens(verifier, { maxEntries: 2, now: () => 1_000_000 });
    for (const token of ['a', 'b', 'c', 'c', 'b', 'a']) await cached.verify(token);
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });
});
