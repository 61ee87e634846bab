// Normalises a conversion from any path (postback, script, pixel) into exact stored form,
// then records it with its attribution decided once.
import { attribute } from './attribution.js';
import { badRequest } from './errors.js';
import { sha256 } from './ids.js';
import { currencyError, fromMinor, MAX_MINOR, toMinor } from './money.js';
import type { ConversionInput } from './schemas/conversion.js';
import { checkSignature } from './signature.js';
import type { ConversionRecord, ItemRecord, Site, Store, StoredConversion } from './store.js';
import { iso, parseTs } from './time.js';

/** How errors name the i-th item: `items[0].price` in JSON bodies, `item 1 PRICE` on the pixel. */
export interface ItemNames {
  line(i: number): string;
  price(i: number): string;
}
const JSON_ITEMS: ItemNames = { line: (i) => `items[${i}]`, price: (i) => `items[${i}].price` };
export const PIXEL_ITEMS: ItemNames = { line: (i) => `item ${i + 1}`, price: (i) => `item ${i + 1} PRICE` };

export function normalizeConversion(site: Site, input: ConversionInput, now: number, names = JSON_ITEMS): ConversionRecord {
  // Checked before any amount, and even with none: a signup stored as "ZZZ" is a bad row too.
  const given = input.currency ?? site.currency;
  const unknown = currencyError(given);
  if (unknown) throw badRequest(unknown);
  const currency = given.toUpperCase();
  const money = (value: string | number, field: string): number => {
    const minor = toMinor(value, currency);
    if (typeof minor === 'string') throw badRequest(`${field} ${minor}`);
    return minor;
  };
  const items: ItemRecord[] = (input.items ?? []).map((item, i) => {
    const priceMinor = money(item.price, names.price(i));
    // Reports multiply qty by price: every line total must stay an exact integer.
    if (item.qty * priceMinor > MAX_MINOR) throw badRequest(`${names.line(i)}: quantity times price is too large`);
    return { type: item.type, qty: item.qty, priceMinor };
  });
  const itemsTotal = items.reduce((sum, i) => sum + i.qty * i.priceMinor, 0);
  if (itemsTotal > MAX_MINOR) throw badRequest('items add up to an amount that is too large');
  const type = input.type ?? 'purchase';
  let valueMinor: number;
  if (input.value !== undefined) valueMinor = money(input.value, 'value');
  else if (items.length > 0) valueMinor = itemsTotal;
  else if (type === 'purchase') throw badRequest('value is required for a purchase (or items with prices)', 'missing_value');
  else valueMinor = 0;
  if (valueMinor > MAX_MINOR) throw badRequest('value is too large');

  let ts = now;
  if (input.ts !== undefined) {
    const parsed = parseTs(input.ts, now);
    if (typeof parsed === 'string') throw badRequest(`ts ${parsed}`);
    ts = parsed;
  }
  return {
    siteId: site.id,
    order: input.order,
    ts,
    event: input.event ?? null,
    type,
    currency,
    valueMinor,
    tickets: input.tickets ?? items.reduce((sum, i) => sum + i.qty, 0),
    items,
    // Hashed again with the site: a raw email sent by mistake is never stored.
    customer: input.customer ? sha256(`${site.id}\n${input.customer.trim().toLowerCase()}`) : null,
    vid: input.vid ?? null,
    cid: input.cid ?? null,
  };
}

/** Records a conversion, after checking its signature where the site requires one. */
export async function recordConversion(store: Store, site: Site, record: ConversionRecord, sig: string | undefined) {
  await checkSignature(store, site, record, sig);
  return store.recordConversion(record, site.windowDays, attribute);
}

/** The public shape of a stored conversion (no customer key, times as ISO strings). */
export function conversionView(c: StoredConversion) {
  const a = c.attribution;
  return {
    order: c.order,
    ts: iso(c.ts),
    event: c.event,
    type: c.type,
    value: fromMinor(c.valueMinor, c.currency),
    value_minor: c.valueMinor,
    currency: c.currency,
    tickets: c.tickets,
    items: c.items.map((i) => ({ type: i.type, qty: i.qty, price: fromMinor(i.priceMinor, c.currency) })),
    status: c.status,
    scanned: c.scanned,
    new_customer: c.newCustomer,
    attribution: {
      link: a.link && { ...a.link, ts: iso(a.link.ts) },
      channel: a.channel,
      source: a.source,
      utm: a.utm,
      rule: a.rule,
      candidates: a.candidates.map((k) => ({ ...k, ts: iso(k.ts) })),
    },
  };
}
