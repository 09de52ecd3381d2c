import { createClientVersionPolicy } from '../../src/bff/clients/index.js';
import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';

describe('MIN_CLIENT_VERSIONS and SUNSET_CLIENT_VERSIONS', () => {
  it('default to no rule', () => {
    const { clientVersions } = loadConfig({});
    expect(clientVersions.minimum.size).toBe(0);
    expect(clientVersions.sunsets).toEqual([]);
  });

  it('read client=version lists, and version@date retirements', () => {
    const { clientVersions } = loadConfig({ MIN_CLIENT_VERSIONS: 'shop-ios=4.2.0, shop-android=4.1.0', SUNSET_CLIENT_VERSIONS: 'shop-ios=4.1.0@2027-03-01,shop-ios=4.3.0@2027-06-01T09:00:00Z' });
    expect([...clientVersions.minimum]).toEqual([
      ['shop-ios', '4.2.0'],
      ['shop-android', '4.1.0'],
    ]);
    expect(clientVersions.sunsets.map(({ clientName, upTo, date, dateText }) => [clientName, upTo, date.toISOString(), dateText])).toEqual([
      ['shop-ios', '4.1.0', '2027-03-01T00:00:00.000Z', '2027-03-01'],
      ['shop-ios', '4.3.0', '2027-06-01T09:00:00.000Z', '2027-06-01T09:00:00Z'],
    ]);
  });

  it.each([
    ['MIN_CLIENT_VERSIONS', 'shop-ios=4.2', /MIN_CLIENT_VERSIONS: "shop-ios=4\.2": expected a semver version such as 4\.2\.0, got "4\.2"/],
    ['MIN_CLIENT_VERSIONS', 'shop-ios', /MIN_CLIENT_VERSIONS: "shop-ios": expected <client-name>=version/],
    ['MIN_CLIENT_VERSIONS', 'shop-ios=4.2.0,shop-ios=4.3.0', /MIN_CLIENT_VERSIONS: the client name "shop-ios" is listed twice/],
    ['SUNSET_CLIENT_VERSIONS', 'shop-ios=4.1.0', /SUNSET_CLIENT_VERSIONS: "shop-ios=4\.1\.0": expected <version>@<date>/],
    ['SUNSET_CLIENT_VERSIONS', 'shop-ios=4.1.0@March', /SUNSET_CLIENT_VERSIONS: "shop-ios=4\.1\.0@March": expected a date such as 2027-03-01/],
    ['SUNSET_CLIENT_VERSIONS', 'shop-ios=4.1.0@2027-03-01T09:00', /expected a date such as 2027-03-01 or 2027-03-01T09:00:00Z/],
  ])('refuse %s=%s, naming the variable and what was expected', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe('the app-version policy', () => {
  const now = Date.parse('2027-01-15T00:00:00Z');
  const policy = createClientVersionPolicy(
    loadConfig({ MIN_CLIENT_VERSIONS: 'shop-ios=4.0.0', SUNSET_CLIENT_VERSIONS: 'shop-ios=4.1.0@2027-03-01,shop-ios=4.0.5@2027-02-01,shop-android=2.0.0@2027-01-01' }).clientVersions,
    { deprecatedSince: new Date('2026-11-01T00:00:00Z') },
  );
  const check = (name: string | null, version: string | null) => policy.check({ name, version }, now);

  it('refuses a version below the minimum', () => {
    expect(check('shop-ios', '3.9.9')).toEqual({ kind: 'upgrade', minimumVersion: '4.0.0' });
  });

  it('announces the earliest retirement that covers a version', () => {
    expect(check('shop-ios', '4.0.1')).toEqual({ kind: 'sunset', notice: { date: '2027-02-01', sunsetHeader: 'Mon, 01 Feb 2027 00:00:00 GMT', deprecationHeader: `@${Date.parse('2026-11-01T00:00:00Z') / 1000}` } });
    expect(check('shop-ios', '4.1.0')).toMatchObject({ kind: 'sunset', notice: { date: '2027-03-01' } });
    expect(check('shop-ios', '4.1.1')).toEqual({ kind: 'serve' });
  });

  it('refuses a retired version once its date has passed, naming the next version up', () => {
    expect(check('shop-android', '2.0.0')).toEqual({ kind: 'upgrade', minimumVersion: '2.0.1' });
    expect(check('shop-android', '2.0.1')).toEqual({ kind: 'serve' });
  });

  it('lets unknown names, missing versions and unreadable ones through, and reads 4.2 as 4.2.0', () => {
    expect(check('partner', '0.0.1')).toEqual({ kind: 'serve' });
    expect(check(null, '1.0.0')).toEqual({ kind: 'serve' });
    expect(check('shop-ios', null)).toEqual({ kind: 'serve' });
    expect(check('shop-ios', 'nightly')).toEqual({ kind: 'serve' });
    expect(check('shop-ios', '3.9')).toEqual({ kind: 'upgrade', minimumVersion: '4.0.0' });
  });
});
