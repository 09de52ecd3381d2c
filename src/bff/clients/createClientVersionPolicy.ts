import semver from 'semver';
import type { ClientVersionsConfig } from '../../config/loadConfig.js';

/** The app that sent a request, as Apollo clients name it (`apollographql-client-name` / `-version`). */
export interface ClientIdentity {
  name: string | null;
  version: string | null;
}

/** When a retiring version stops being served. */
export interface SunsetNotice {
  /** As configured, e.g. `2027-03-01`: what `extensions.sunset` carries. */
  date: string;
  /** `Sunset` (RFC 8594): an HTTP-date. */
  sunsetHeader: string;
  /** `Deprecation` (RFC 9745): a structured-field date, `@<unix seconds>`. */
  deprecationHeader: string;
}

export type ClientVerdict =
  | { kind: 'serve' }
  | { kind: 'sunset'; notice: SunsetNotice }
  | { kind: 'upgrade'; /** The lowest version served. */ minimumVersion: string };

const SERVE: ClientVerdict = { kind: 'serve' };

/**
 * The app-version rules of `MIN_CLIENT_VERSIONS` and `SUNSET_CLIENT_VERSIONS`, applied to a
 * request's client name and version. A name no rule lists passes, as does a missing or unreadable
 * version (`4.2` reads as `4.2.0`): the gate prompts apps to update, it is not access control.
 * `deprecatedSince` is what `Deprecation` announces: the configuration names only the sunset, so
 * a version counts as deprecated from the moment a server was configured to retire it.
 */
export function createClientVersionPolicy({ minimum, sunsets }: ClientVersionsConfig, { deprecatedSince = new Date() }: { deprecatedSince?: Date } = {}) {
  const listed = new Set([...minimum.keys(), ...sunsets.map((s) => s.clientName)]);
  const deprecation = `@${Math.floor(deprecatedSince.getTime() / 1000)}`;
  const notices = new Map(
    sunsets.map((rule) => [rule, { date: rule.dateText, sunsetHeader: rule.date.toUTCString(), deprecationHeader: deprecation } satisfies SunsetNotice]),
  );

  return {
    /** True when no rule is configured: nothing to check. */
    empty: listed.size === 0,
    check({ name, version }: ClientIdentity, now = Date.now()): ClientVerdict {
      if (!name || !listed.has(name) || !version) return SERVE;
      const v = semver.valid(version) ?? semver.valid(semver.coerce(version));
      if (!v) return SERVE;
      let lowest = minimum.get(name);
      let notice: { rule: (typeof sunsets)[number]; notice: SunsetNotice } | undefined;
      for (const rule of sunsets) {
        if (rule.clientName !== name || semver.gt(v, rule.upTo)) continue;
        if (rule.date.getTime() <= now) {
          // Retired: the lowest version served is the next one up from the retired range.
          const next = semver.inc(rule.upTo, 'patch')!;
          if (!lowest || semver.gt(next, lowest)) lowest = next;
        } else if (!notice || rule.date < notice.rule.date) {
          notice = { rule, notice: notices.get(rule)! };
        }
      }
      if (lowest && semver.lt(v, lowest)) return { kind: 'upgrade', minimumVersion: lowest };
      return notice ? { kind: 'sunset', notice: notice.notice } : SERVE;
    },
  };
}

export type ClientVersionPolicy = ReturnType<typeof createClientVersionPolicy>;
