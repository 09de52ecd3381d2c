/** An answer as plain data: what a yoga plugin wraps in a fetch `Response`, and what the by-hash lane writes to node:http itself. */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
