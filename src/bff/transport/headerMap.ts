/**
 * Response headers as the by-hash lane builds them: the part of the fetch `Headers` API the
 * plugins' shared steps use (`get`, `has`, `set`, `append` joining with ", ", `delete`), names
 * lowercased, without a fetch `Response` around them.
 */
export class HeaderMap {
  private readonly map = new Map<string, string>();

  constructor(init?: Record<string, string>) {
    if (init) for (const name in init) this.map.set(name.toLowerCase(), init[name]!);
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const current = this.map.get(key);
    this.map.set(key, current === undefined ? value : `${current}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/** A node request's headers behind `get`/`has`, as a fetch `Headers` built from them answers (yoga's node adapter builds its `Headers` from `req.headers`). */
export function nodeHeaders(headers: Record<string, string | string[] | undefined>): Pick<Headers, 'get' | 'has'> {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
    has(name) {
      return headers[name.toLowerCase()] !== undefined;
    },
  };
}
