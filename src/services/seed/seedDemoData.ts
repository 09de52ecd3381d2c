import type { Database } from '../../db/index.js';
import { products } from '../catalog/catalogTables.js';
import { orderLines, orders, orderStatuses } from '../orders/ordersTables.js';
import { users } from '../users/usersTables.js';

/** The demo user's `sub`: `npm run token` signs for it by default. */
export const DEMO_USER_ID = 'demo';
export const DEMO_PRODUCT_COUNT = 200;
export const DEMO_ORDER_COUNT = 60;

const adjectives = ['Amber', 'Bold', 'Cosy', 'Dusky', 'Eager', 'Fern', 'Glossy', 'Hazel', 'Ivory', 'Jade', 'Kind', 'Lunar', 'Misty', 'Noble', 'Olive', 'Plush', 'Quiet', 'Rustic', 'Sunny', 'Tidal'];
const nouns = ['Backpack', 'Candle', 'Desk Lamp', 'Espresso Cup', 'Field Notebook', 'Garden Chair', 'Headphones', 'Kettle', 'Rain Jacket', 'Water Bottle'];

/** A small deterministic PRNG (mulberry32) so that every seed produces the same data. */
function random(seed: number) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function demoProducts() {
  const rnd = random(42);
  return Array.from({ length: DEMO_PRODUCT_COUNT }, (_, i) => {
    const sku = `SKU-${String(i + 1).padStart(4, '0')}`;
    const name = `${adjectives[i % adjectives.length]} ${nouns[Math.floor(i / adjectives.length) % nouns.length]}`;
    return {
      sku,
      name,
      description: `The ${name.toLowerCase()}: a demo product for exploring the graph.`,
      priceCents: 299 + Math.floor(rnd() * 197) * 100,
      currency: 'EUR',
      imageUrl: `https://cdn.example.com/products/${sku}.jpg`,
    };
  });
}

export function demoOrders() {
  const rnd = random(7);
  const catalog = demoProducts();
  const base = Date.parse('2026-01-01T09:00:00.000Z');
  return Array.from({ length: DEMO_ORDER_COUNT }, (_, i) => {
    const lineCount = 2 + Math.floor(rnd() * 4);
    const picked = new Set<number>();
    while (picked.size < lineCount) picked.add(Math.floor(rnd() * catalog.length));
    const lines = [...picked].map((p, j) => ({ lineNo: j + 1, sku: catalog[p]!.sku, quantity: 1 + Math.floor(rnd() * 3), unitPriceCents: catalog[p]!.priceCents }));
    const createdAt = new Date(base + i * 23 * 3600_000 + i * 7 * 60_000);
    return {
      number: `D${String(i + 1).padStart(6, '0')}`,
      userId: DEMO_USER_ID,
      status: orderStatuses[Math.floor(rnd() * orderStatuses.length)]!,
      currency: 'EUR',
      totalCents: lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0),
      createdAt,
      updatedAt: createdAt,
      lines,
    };
  });
}

/**
 * Seeds ~200 products and the demo user with ~60 orders. Idempotent: rows that exist are left
 * as they are, so a restart never undoes a change made through the services.
 */
export async function seedDemoData(database: Database, which: { users?: boolean; catalog?: boolean; orders?: boolean } = { users: true, catalog: true, orders: true }) {
  const { db } = database;
  if (which.catalog) await db.insert(products).values(demoProducts()).onConflictDoNothing();
  if (which.users) {
    await db.insert(users).values({ id: DEMO_USER_ID, name: 'Demo User', email: 'demo@example.com' }).onConflictDoNothing();
  }
  if (which.orders) {
    const list = demoOrders();
    await db.transaction(async (tx) => {
      await tx.insert(orders).values(list.map(({ lines: _lines, ...o }) => o)).onConflictDoNothing();
      await tx
        .insert(orderLines)
        .values(list.flatMap((o) => o.lines.map((l) => ({ orderNumber: o.number, ...l }))))
        .onConflictDoNothing();
    });
  }
}
