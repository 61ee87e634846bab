// Request validation. Query strings and path parameters arrive as text, so their numbers are
// coerced ("?tickets=2"); a JSON body is typed already, so a wrongly typed field there is a
// 400 naming it, never silently converted, and where a schema closes its properties, an
// unknown one (a typo such as "honourGpc") is a 400 too rather than silently dropped. So is an
// unknown query parameter of the API (`?evnt=gala` would otherwise answer for the whole site);
// the public routes drop theirs, since platforms append their own to a pixel's URL.
import { Ajv, type ErrorObject, type Options } from 'ajv';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';

const common: Options = { useDefaults: true, removeAdditional: true, allErrors: false, allowUnionTypes: true, addUsedSchema: false };

/** The first top-level field that coercion turned into a non-finite number ("1e400" → Infinity). */
function nonFinite(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null;
  // for…in, not Object.entries: no arrays per request (every pixel's query passes here).
  for (const k in data) {
    const v = (data as Record<string, unknown>)[k];
    if (typeof v === 'number' && !Number.isFinite(v)) return k;
  }
  return null;
}

/**
 * `format: 'http-url'`: an http(s) URL that parses. A pattern alone let "https://[oops" or a
 * port of 99999 in, and every link later built from it (shortlinks, code lists) failed.
 */
export const isHttpUrl = (s: string): boolean => {
  if (!URL.canParse(s)) return false;
  const { protocol } = new URL(s);
  return protocol === 'http:' || protocol === 'https:';
};

/**
 * Fastify's wording (`querystring/format must be equal to one of the allowed values`), with
 * the allowed values named (`: json, csv, xlsx`): the 400 says how to put the request right.
 */
export function schemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const line = (e: FastifySchemaValidationError) => {
    const allowed = e.keyword === 'enum' && Array.isArray(e.params.allowedValues) ? `: ${e.params.allowedValues.join(', ')}` : '';
    return `${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}${allowed}`;
  };
  return new Error(errors.map(line).join(', '));
}

export function installValidators(app: FastifyInstance): void {
  app.setSchemaErrorFormatter(schemaErrors);
  const text = new Ajv({ ...common, coerceTypes: 'array' });
  const api = new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false });
  const json = new Ajv({ ...common, coerceTypes: false, removeAdditional: false });
  for (const ajv of [text, api, json]) ajv.addFormat('http-url', { type: 'string', validate: isHttpUrl });
  app.setValidatorCompiler(({ schema, httpPart, url }) => {
    if (httpPart === 'body') return json.compile(schema);
    const validate = (url.startsWith('/api/') ? api : text).compile(schema);
    // Ajv's bounds let a coerced Infinity through; SQLite would then refuse it with a 500.
    const check = (data: unknown): boolean => {
      const ok = validate(data);
      const bad = ok ? nonFinite(data) : null;
      check.errors = ok
        ? bad === null
          ? null
          : [{ instancePath: `/${bad}`, schemaPath: '#', keyword: 'type', params: {}, message: 'must be a finite number' }]
        : validate.errors;
      return ok && !bad;
    };
    check.errors = null as ErrorObject[] | null | undefined;
    return check;
  });
}
