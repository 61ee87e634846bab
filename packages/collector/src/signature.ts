// Signed conversions (optional per site). When a site requires them, every conversion (pixel,
// script or postback) carries sig: the hex HMAC-SHA256, keyed with the site's conversion
// secret, of this exact text, one field per line with no trailing newline:
//
//   ORDER + "\n" + VALUE + "\n" + CURRENCY
//
// ORDER as sent; VALUE the amount in major units with exactly the currency's minor digits
// ("45.00" for EUR, "4500" for JPY, "1.500" for KWD; the sum of the items when value is
// omitted); CURRENCY the upper-case ISO 4217 code (the site's when omitted). A forged or
// tampered pixel (another order, a bigger value) then fails: no one without the secret can
// make a sig. Example: order A-1, 45.00 EUR signs "A-1\n45.00\nEUR".
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';
import { fromMinor } from './money.js';
import type { ConversionRecord, Site, Store } from './store.js';

export function signedText(c: Pick<ConversionRecord, 'order' | 'valueMinor' | 'currency'>): string {
  return `${c.order}\n${fromMinor(c.valueMinor, c.currency)}\n${c.currency}`;
}

export const signConversion = (secret: string, text: string): string => createHmac('sha256', secret).update(text).digest('hex');

/** Throws 401 unless the site does not require signatures or `sig` is right. */
export async function checkSignature(store: Store, site: Site, record: ConversionRecord, sig: string | undefined): Promise<void> {
  if (!site.requireSignedConversions) return;
  if (!sig) {
    throw new HttpError(401, 'signature_required', 'sig is required: this site accepts only signed conversions');
  }
  const secret = await store.getConversionSecret(site.id);
  const text = signedText(record);
  const expected = Buffer.from(signConversion(secret ?? '', text), 'hex');
  const given = Buffer.from(sig, 'hex');
  if (!secret || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError(401, 'bad_signature', `sig is not the HMAC-SHA256 of ${JSON.stringify(text)} with this site's conversion secret`);
  }
}
