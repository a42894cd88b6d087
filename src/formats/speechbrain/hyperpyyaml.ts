import { isAlias, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { HearthError } from '../../errors/index.js';

/**
 * HyperPyYAML (SpeechBrain's `hyperparams.yaml`) read as data. Its tags are
 * Python calls (`!new:module.Class` builds an object, `!name:` a partial,
 * `!apply:` calls a function); SpeechBrain executes them, hearth never does.
 * A `!new:` becomes a `PyObject` naming its class with its arguments, and a
 * `!ref <key>` is resolved to the value it names, so the caller reads the
 * model's recipe as plain values and decides which classes it can build.
 */
export type HyperValue = string | number | boolean | null | HyperValue[] | { [key: string]: HyperValue } | PyObject;

/** A `!new:`, `!name:` or `!apply:` node: a Python class or function with its arguments, never called. */
export class PyObject {
  constructor(
    readonly kind: 'new' | 'name' | 'apply',
    /** Dotted Python path, e.g. "speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN". */
    readonly target: string,
    readonly args: Readonly<Record<string, HyperValue>>,
    readonly positional: readonly HyperValue[] = [],
  ) {}

  /** The class name alone: "ECAPA_TDNN". */
  get className(): string {
    return this.target.slice(this.target.lastIndexOf('.') + 1);
  }
}

type Unresolved = HyperValue | RefNode;

class RefNode {
  constructor(readonly expression: string) {}
}

const REF = /<([^<>]+)>/g;
/** An operator between spaces, or parentheses: HyperPyYAML would evaluate the text (paths have neither). */
const ARITHMETIC = /\s(?:\*\*|\/\/|[-+*/%])\s|[()]/;

/** Parses a HyperPyYAML text; `what` names the file in errors. Refs are resolved against the top-level keys. */
export function readHyperPyYaml(text: string, what: string): Record<string, HyperValue> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: not valid YAML: ${doc.errors[0]!.message}`, { cause: doc.errors[0] });
  }
  const root = convert(doc.contents, what, 'the top level');
  if (root === null || typeof root !== 'object' || Array.isArray(root) || root instanceof PyObject || root instanceof RefNode) {
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: the top level is not a mapping of hyperparameters`);
  }
  const top = root as Record<string, Unresolved>;
  const resolved = new Map<string, HyperValue>();
  const resolving = new Set<string>();

  const lookup = (path: string, at: string): HyperValue => {
    const [head, ...rest] = path.split(/[.[\]]+/).filter((s) => s !== '');
    if (head === undefined || !(head in top)) throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} refers to <${path}>, which the file does not define`);
    if (!resolved.has(head)) {
      if (resolving.has(head)) throw new HearthError('MODEL_UNSUPPORTED', `${what}: <${head}> refers to itself through ${at}`);
      resolving.add(head);
      resolved.set(head, resolve(top[head]!, head));
      resolving.delete(head);
    }
    let value: HyperValue | undefined = resolved.get(head);
    for (const key of rest) {
      const container: HyperValue | undefined = value instanceof PyObject ? value.args : value;
      value = container !== null && typeof container === 'object' ? (container as Record<string, HyperValue>)[key] : undefined;
      if (value === undefined) throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} refers to <${path}>, which the file does not define`);
    }
    return value!;
  };

  const resolve = (value: Unresolved, at: string): HyperValue => {
    if (value instanceof RefNode) return resolveRef(value.expression, at);
    if (value instanceof PyObject) {
      const args = Object.fromEntries(Object.entries(value.args).map(([k, v]) => [k, resolve(v as Unresolved, `${at}.${k}`)]));
      return new PyObject(value.kind, value.target, args, value.positional.map((v, i) => resolve(v as Unresolved, `${at}[${i}]`)));
    }
    if (Array.isArray(value)) return value.map((v, i) => resolve(v as Unresolved, `${at}[${i}]`));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v as Unresolved, `${at}.${k}`)]));
    }
    return value;
  };

  // `!ref <a>` is the value a names; `!ref <a>/b.ckpt` is text. HyperPyYAML also evaluates arithmetic
  // in refs with Python's eval; hearth refuses it rather than evaluate anything.
  const resolveRef = (expression: string, at: string): HyperValue => {
    const whole = /^\s*<([^<>]+)>\s*$/.exec(expression);
    if (whole) return lookup(whole[1]!, at);
    const text = expression.replace(REF, (_, path: string) => {
      const value = lookup(path, at);
      if (typeof value === 'object' && value !== null) throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} puts <${path}>, which is not text or a number, into text`);
      return String(value);
    });
    if (ARITHMETIC.test(text)) {
      throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at}: "!ref ${expression}" is an expression; hearth reads references, not arithmetic`);
    }
    return text;
  };

  return Object.fromEntries(Object.keys(top).map((key) => [key, lookup(key, key)]));
}

function convert(node: unknown, what: string, at: string): Unresolved {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} uses a YAML alias; SpeechBrain files use !ref instead`);
  const tag = (node as Node).tag;
  if (tag === '!ref') {
    if (!isScalar(node)) throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at}: !ref takes a text such as <key>`);
    return new RefNode(String(node.value));
  }
  const call = tag === undefined ? undefined : /^!(new|name|apply):([A-Za-z_][\w.]*)$/.exec(tag);
  if (tag !== undefined && !call && !tag.startsWith('tag:yaml.org,2002:')) {
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} has the tag ${tag}, which hearth does not read`, { details: { tag } });
  }
  const plain = plainOf(node, what, at);
  if (!call) return plain;
  const kind = call[1] as 'new' | 'name' | 'apply';
  if (plain === null) return new PyObject(kind, call[2]!, {});
  // Arguments may still hold RefNodes here; readHyperPyYaml resolves them before anything sees the PyObject.
  if (Array.isArray(plain)) return new PyObject(kind, call[2]!, {}, plain);
  if (typeof plain === 'object' && !(plain instanceof PyObject) && !(plain instanceof RefNode)) return new PyObject(kind, call[2]!, plain);
  return new PyObject(kind, call[2]!, {}, [plain as HyperValue]);
}

function plainOf(node: unknown, what: string, at: string): Unresolved {
  if (isMap(node)) {
    const out: Record<string, Unresolved> = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} has a key that is not text`);
      out[key] = convert(pair.value, what, `${at === 'the top level' ? '' : `${at}.`}${key}`);
    }
    return out as Unresolved;
  }
  if (isSeq(node)) return node.items.map((item, i) => convert(item, what, `${at}[${i}]`)) as Unresolved;
  if (isScalar(node)) {
    const value = node.value;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    return String(value);
  }
  throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${at} is not a value hearth reads`);
}
