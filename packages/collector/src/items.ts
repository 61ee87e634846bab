import { badRequest } from './errors.js';
import { UNPRINTABLE } from './schemas/common.js';

/** Parses pixel items `TYPE:QTY:PRICE` ("vip:2:45.00"); the error names the item and the part. */
export function parseItems(raw: string[]): Array<{ type: string; qty: number; price: string }> {
  return raw.map((text, i) => {
    const where = `item ${i + 1} (${JSON.stringify(text.slice(0, 80))})`;
    const parts = text.split(':');
    if (parts.length !== 3) throw badRequest(`${where} must be TYPE:QTY:PRICE`);
    const [type, qty, price] = parts as [string, string, string];
    if (!type.trim() || type.length > 64 || UNPRINTABLE.test(type)) {
      throw badRequest(`${where}: TYPE must be 1 to 64 printable characters`);
    }
    if (!/^\d{1,6}$/.test(qty) || Number(qty) < 1 || Number(qty) > 100_000) {
      throw badRequest(`${where}: QTY must be a whole number from 1 to 100000`);
    }
    if (!/^\d{1,16}(\.\d{1,20})?$/.test(price)) throw badRequest(`${where}: PRICE must be a decimal amount like 45.00`);
    return { type: type.trim(), qty: Number(qty), price };
  });
}
