import { HearthError } from '../errors/index.js';

/**
 * A JSON Schema in the subset that node-llama-cpp compiles to a grammar
 * (its GbnfJsonSchema): what the model can only ever produce output that
 * validates against. Produced by grammarSchema(), never by hand.
 */
export type GrammarSchema = { readonly [keyword: string]: unknown };

/** What a request asked the output to be. */
export type OutputFormat = { type: 'json' } | { type: 'json_schema'; schema: GrammarSchema };

/** Any JSON object: Ollama's `format: "json"` and OpenAI's `json_object`. */
export const ANY_JSON_OBJECT: GrammarSchema = { type: 'object', additionalProperties: true };

/** Kept in the grammar schema (node-llama-cpp shows descriptions to the model) or dropped: they constrain nothing. */
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', '$comment', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'strict']);

const NUMERIC = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
/** The keywords that constrain a value of each type, in JSON Schema; another type's keywords are ignored for it. */
const APPLIES: Record<string, readonly string[]> = {
  string: ['minLength', 'maxLength', 'pattern', 'format', 'contentEncoding', 'contentMediaType', 'contentSchema'],
  number: NUMERIC,
  integer: NUMERIC,
  boolean: [],
  null: [],
  object: ['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties', 'patternProperties', 'propertyNames', 'dependentRequired', 'dependentSchemas', 'unevaluatedProperties'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains', 'minContains', 'maxContains', 'unevaluatedItems'],
};
/** Of those, the ones the grammar enforces. */
const ENFORCED: Record<string, ReadonlySet<string>> = {
  string: new Set(['minLength', 'maxLength', 'format']),
  integer: new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']),
  object: new Set(['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties']),
  array: new Set(['items', 'prefixItems', 'minItems', 'maxItems']),
};
const ALL_TYPE_KEYWORDS = new Set(Object.values(APPLIES).flat());
const STRUCTURAL = new Set(['type', 'enum', 'const', 'oneOf', 'anyOf', '$ref', '$defs', 'definitions']);
/** node-llama-cpp's string formats. */
const FORMATS = new Set(['date', 'time', 'date-time']);
/** Integer bounds become an enum of the values between them, up to this many. */
const MAX_INTEGER_RANGE = 256;

/**
 * Translates a client's JSON Schema into the grammar's subset, or refuses it
 * with a USAGE error naming the field and keyword: a keyword the grammar
 * cannot enforce (a pattern, a bound on a real number, allOf…) would
 * otherwise give output that does not validate, which is worse than a 400.
 * Keywords written for another type than the value's (minLength on an
 * integer) constrain nothing in JSON Schema and are dropped.
 */
export function grammarSchema(schema: unknown, field: string): GrammarSchema {
  const defs = collectDefs(schema, field);
  return translate(schema, field, defs);
}

function translate(schema: unknown, at: string, defs: ReadonlySet<string>): GrammarSchema {
  if (!isObject(schema)) throw refused(at, `a schema must be a JSON object here, not ${JSON.stringify(schema)}`);
  for (const keyword of Object.keys(schema)) {
    if (!ANNOTATIONS.has(keyword) && !STRUCTURAL.has(keyword) && !ALL_TYPE_KEYWORDS.has(keyword)) throw unsupported(at, keyword);
  }
  const description = typeof schema.description === 'string' ? { description: schema.description } : {};
  const ownDefs = translateDefs(schema, at, defs);
  if (schema.$ref !== undefined) return { $ref: refTarget(schema.$ref, `${at}.$ref`, defs), ...description, ...ownDefs };
  if (schema.const !== undefined) return { const: literal(schema.const, `${at}.const`), ...description };
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) throw refused(`${at}.enum`, 'enum must be a non-empty array');
    return { enum: schema.enum.map((v, i) => literal(v, `${at}.enum.${i}`)), ...description };
  }
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives !== undefined) {
    const key = schema.oneOf !== undefined ? 'oneOf' : 'anyOf';
    if (!Array.isArray(alternatives) || alternatives.length === 0) throw refused(`${at}.${key}`, `${key} must be a non-empty array of schemas`);
    if (schema.type !== undefined) throw refused(at, `${key} beside type: put the type in each alternative`);
    const branches = alternatives.map((s, i) => translate(s, `${at}.${key}.${i}`, defs));
    // The grammar writes one alternative; oneOf also needs it to match no other, which only disjoint ones promise.
    if (key === 'oneOf' && !disjoint(branches)) {
      throw refused(`${at}.oneOf`, 'alternatives that can match the same value (the same type, without a distinguishing constant property) cannot be kept to exactly one; anyOf can');
    }
    return { oneOf: branches, ...description, ...ownDefs };
  }
  const types = typesOf(schema, at);
  const branches = types.map((type) => typed(type, schema, at, defs));
  const result = branches.length === 1 ? branches[0]! : { oneOf: branches };
  return { ...result, ...description, ...ownDefs };
}

function typed(type: string, schema: Record<string, unknown>, at: string, defs: ReadonlySet<string>): GrammarSchema {
  for (const keyword of APPLIES[type] ?? []) if (schema[keyword] !== undefined && !ENFORCED[type]?.has(keyword)) throw unsupported(at, keyword);
  switch (type) {
    case 'string': {
      const out: Record<string, unknown> = { type };
      if (schema.format !== undefined) {
        if (typeof schema.format !== 'string' || !FORMATS.has(schema.format)) throw refused(`${at}.format`, `the format ${JSON.stringify(schema.format)} cannot be enforced by a grammar (supported: ${[...FORMATS].join(', ')})`);
        if (schema.minLength !== undefined || schema.maxLength !== undefined) throw refused(`${at}.format`, 'a format with minLength or maxLength cannot be enforced together');
        out.format = schema.format;
      }
      for (const k of ['minLength', 'maxLength'] as const) if (schema[k] !== undefined) out[k] = count(schema[k], `${at}.${k}`);
      if (out.minLength !== undefined && out.maxLength !== undefined && (out.minLength as number) > (out.maxLength as number)) throw refused(`${at}.minLength`, 'minLength is above maxLength: nothing validates');
      return out;
    }
    case 'integer':
      return integer(schema, at);
    case 'number':
    case 'boolean':
    case 'null':
      return { type };
    case 'object':
      return object(schema, at, defs);
    case 'array':
      return array(schema, at, defs);
    default:
      throw refused(`${at}.type`, `unknown type ${JSON.stringify(type)}`);
  }
}

/** Integer bounds become the enum of the integers between them: the grammar has no arithmetic. */
function integer(schema: Record<string, unknown>, at: string): GrammarSchema {
  const bound = (k: string) => {
    const v = schema[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw refused(`${at}.${k}`, `${k} must be a number`);
    return v;
  };
  const low = [bound('minimum'), (bound('exclusiveMinimum') ?? Number.NaN) + 1].filter((v): v is number => v !== undefined && !Number.isNaN(v));
  const high = [bound('maximum'), (bound('exclusiveMaximum') ?? Number.NaN) - 1].filter((v): v is number => v !== undefined && !Number.isNaN(v));
  if (low.length === 0 && high.length === 0) return { type: 'integer' };
  const keyword = ['minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum'].find((k) => schema[k] !== undefined)!;
  if (low.length === 0 || high.length === 0) throw refused(`${at}.${keyword}`, `a one-sided bound on an integer cannot be enforced by a grammar; give both a minimum and a maximum at most ${MAX_INTEGER_RANGE} apart`);
  const from = Math.ceil(Math.max(...low));
  const to = Math.floor(Math.min(...high));
  if (from > to) throw refused(`${at}.${keyword}`, 'the bounds leave no integer: nothing validates');
  if (to - from + 1 > MAX_INTEGER_RANGE) throw refused(`${at}.${keyword}`, `integer bounds are enforced as the list of allowed values, at most ${MAX_INTEGER_RANGE} of them; these allow ${to - from + 1}`);
  return { enum: Array.from({ length: to - from + 1 }, (_, i) => from + i) };
}

function object(schema: Record<string, unknown>, at: string, defs: ReadonlySet<string>): GrammarSchema {
  const out: Record<string, unknown> = { type: 'object' };
  const properties = schema.properties ?? {};
  if (!isObject(properties)) throw refused(`${at}.properties`, 'properties must be an object of schemas');
  const names = Object.keys(properties);
  out.properties = Object.fromEntries(names.map((name) => [name, translate(properties[name], `${at}.properties.${name}`, defs)]));
  const extra = schema.additionalProperties;
  if (extra === true) out.additionalProperties = true;
  else if (extra !== undefined && extra !== false) out.additionalProperties = translate(extra, `${at}.additionalProperties`, defs);
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required) || !schema.required.every((r) => typeof r === 'string')) throw refused(`${at}.required`, 'required must be an array of property names');
    // The grammar writes every listed property, so those are always present; one that is not listed it cannot promise.
    const missing = schema.required.find((r) => !names.includes(r as string));
    if (missing !== undefined) throw refused(`${at}.required`, `"${String(missing)}" is required but not among the properties: the grammar cannot make sure it is written`);
  }
  // The grammar writes every listed property, in order: a maximum below their number could never be met.
  if (schema.minProperties !== undefined) out.minProperties = count(schema.minProperties, `${at}.minProperties`);
  if (schema.maxProperties !== undefined) {
    const max = count(schema.maxProperties, `${at}.maxProperties`);
    if (max < names.length) throw refused(`${at}.maxProperties`, `the grammar writes all ${names.length} properties, more than maxProperties (${max})`);
    out.maxProperties = max;
  }
  if ((out.minProperties as number | undefined) !== undefined && (out.minProperties as number) > names.length && out.additionalProperties === undefined) {
    throw refused(`${at}.minProperties`, `minProperties (${String(out.minProperties)}) is more than the ${names.length} properties, and no additional ones are allowed`);
  }
  return out;
}

function array(schema: Record<string, unknown>, at: string, defs: ReadonlySet<string>): GrammarSchema {
  const out: Record<string, unknown> = { type: 'array' };
  if (schema.items !== undefined && schema.items !== true) {
    if (schema.items === false) out.maxItems = 0;
    else out.items = translate(schema.items, `${at}.items`, defs);
  }
  if (schema.prefixItems !== undefined) {
    if (!Array.isArray(schema.prefixItems)) throw refused(`${at}.prefixItems`, 'prefixItems must be an array of schemas');
    out.prefixItems = schema.prefixItems.map((s, i) => translate(s, `${at}.prefixItems.${i}`, defs));
  }
  if (schema.minItems !== undefined) out.minItems = count(schema.minItems, `${at}.minItems`);
  if (schema.maxItems !== undefined) out.maxItems = Math.min(count(schema.maxItems, `${at}.maxItems`), (out.maxItems as number | undefined) ?? Number.POSITIVE_INFINITY);
  const prefix = (out.prefixItems as unknown[] | undefined)?.length ?? 0;
  if (out.maxItems !== undefined && (out.maxItems as number) < prefix) throw refused(`${at}.maxItems`, `maxItems (${String(out.maxItems)}) is below the ${prefix} prefixItems`);
  if (out.minItems !== undefined && out.maxItems !== undefined && (out.minItems as number) > (out.maxItems as number)) throw refused(`${at}.minItems`, 'minItems is above maxItems: nothing validates');
  return out;
}

/** Whether no value can match two of `branches`: their JSON types differ, or their objects differ in one constant property. */
function disjoint(branches: readonly GrammarSchema[]): boolean {
  const kinds = branches.map(kindsOf);
  for (let i = 0; i < kinds.length; i++) {
    for (let j = i + 1; j < kinds.length; j++) {
      const shared = [...kinds[i]!].filter((k) => kinds[j]!.has(k) || k === 'any' || kinds[j]!.has('any'));
      if (shared.length === 0) continue;
      if (shared.every((k) => k === 'object') && distinguishedObjects(branches[i]!, branches[j]!)) continue;
      return false;
    }
  }
  return true;
}

/** The JSON types a translated schema can produce ("number" for every number; "any" when it cannot tell). */
function kindsOf(schema: GrammarSchema): Set<string> {
  const ofValue = (v: unknown) => (v === null ? 'null' : typeof v);
  if (Array.isArray(schema.oneOf)) return new Set((schema.oneOf as GrammarSchema[]).flatMap((b) => [...kindsOf(b)]));
  if (Array.isArray(schema.enum)) return new Set((schema.enum as unknown[]).map(ofValue));
  if ('const' in schema) return new Set([ofValue(schema.const)]);
  if (typeof schema.type === 'string') return new Set([schema.type === 'integer' ? 'number' : schema.type]);
  return new Set(['any']);
}

/** Two object schemas with a property that each fixes to a different constant. */
function distinguishedObjects(a: GrammarSchema, b: GrammarSchema): boolean {
  const fixed = (schema: GrammarSchema, name: string): unknown[] | undefined => {
    const property = (schema.properties as Record<string, GrammarSchema> | undefined)?.[name];
    if (!property) return undefined;
    if ('const' in property) return [property.const];
    return Array.isArray(property.enum) ? (property.enum as unknown[]) : undefined;
  };
  return Object.keys((a.properties as object | undefined) ?? {}).some((name) => {
    const x = fixed(a, name);
    const y = fixed(b, name);
    return x !== undefined && y !== undefined && !x.some((v) => y.includes(v));
  });
}

/** The types a schema allows; none given means any JSON value, inferred from its keywords when they name one type. */
function typesOf(schema: Record<string, unknown>, at: string): string[] {
  if (schema.type === undefined) {
    const implied = [...new Set(Object.entries(APPLIES).filter(([, keys]) => keys.some((k) => schema[k] !== undefined)).map(([t]) => (t === 'integer' ? 'number' : t)))];
    if (implied.length === 1) return implied;
    return ['string', 'number', 'boolean', 'null', 'object', 'array'];
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length === 0 || !types.every((t) => typeof t === 'string' && t in APPLIES)) throw refused(`${at}.type`, `type must be one of ${Object.keys(APPLIES).join(', ')}, or an array of them`);
  // "number" already admits every integer.
  return [...new Set(types as string[])].filter((t) => !(t === 'integer' && types.includes('number')));
}

/** The names of every definition, wherever it sits: node-llama-cpp resolves `#/$defs/name` through the scopes above. */
function collectDefs(schema: unknown, field: string): Set<string> {
  const names = new Set<string>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (isObject(node)) {
      for (const key of ['$defs', 'definitions']) {
        const defs = node[key];
        if (defs !== undefined && !isObject(defs)) throw refused(`${field}.${key}`, `${key} must be an object of schemas`);
        if (isObject(defs)) for (const name of Object.keys(defs)) names.add(name);
      }
      Object.values(node).forEach(walk);
    }
  };
  walk(schema);
  return names;
}

function translateDefs(schema: Record<string, unknown>, at: string, defs: ReadonlySet<string>): { $defs?: Record<string, GrammarSchema> } {
  const entries = (['$defs', 'definitions'] as const).flatMap((key) => (isObject(schema[key]) ? Object.entries(schema[key]).map(([name, s]) => [name, translate(s, `${at}.${key}.${name}`, defs)] as const) : []));
  return entries.length === 0 ? {} : { $defs: Object.fromEntries(entries) };
}

function refTarget(ref: unknown, at: string, defs: ReadonlySet<string>): string {
  const match = typeof ref === 'string' ? /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref) : null;
  if (!match) throw refused(at, `only references to local definitions ("#/$defs/name") can be enforced, not ${JSON.stringify(ref)}`);
  if (!defs.has(match[1]!)) throw refused(at, `no definition named "${match[1]}"`);
  return `#/$defs/${match[1]}`;
}

function literal(value: unknown, at: string): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw refused(at, 'only strings, numbers, booleans and null can be enforced as constants');
}

function count(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw refused(at, 'must be a non-negative integer');
  return value;
}

function unsupported(at: string, keyword: string): HearthError {
  return refused(`${at}.${keyword}`, `the keyword "${keyword}" cannot be enforced by a grammar; hearth refuses it rather than return output that may not validate`);
}

function refused(field: string, message: string): HearthError {
  return new HearthError('USAGE', `invalid request: ${field}: ${message}`, { details: { field } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
