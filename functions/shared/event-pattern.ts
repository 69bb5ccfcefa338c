// Validates EventBridge event patterns once and matches events against them, for the local bus and journey matchers.
//
// Sources: the EventBridge user guide pages "Amazon EventBridge event patterns", "Comparison operators for use in
// event patterns" (content filtering), "Arrays in event patterns", "Matching null values and empty strings", and
// the TestEventPattern API. Where those pages are silent we follow Event Ruler (github.com/aws/event-ruler), the
// open-source engine behind EventBridge, and reuse its error wording so messages read as AWS's do.

const ERROR_PREFIX = 'Event pattern is not valid. Reason: ';

/** Thrown for a pattern PutRule or TestEventPattern would reject; `reason` says what is wrong. */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternException';

  constructor(readonly reason: string) {
    super(`${ERROR_PREFIX}${reason}`);
  }
}

/** A JSON scalar: the only kind of value a pattern can compare. */
type LeafValue = string | number | boolean | null;
type ValueTest = (value: LeafValue) => boolean;

/** Everything one field's array of values accepts; entries of that array are OR-ed. */
interface LeafRule {
  readonly strings: ReadonlySet<string>;
  readonly numbers: ReadonlySet<number>;
  readonly acceptsTrue: boolean;
  readonly acceptsFalse: boolean;
  readonly acceptsNull: boolean;
  readonly tests: readonly ValueTest[];
  /** `{ "exists": true }` is in the array. */
  readonly acceptsPresent: boolean;
  /** `{ "exists": false }` is in the array. */
  readonly acceptsAbsent: boolean;
}

type FieldRule =
  | { readonly kind: 'leaf'; readonly key: string; readonly rule: LeafRule }
  | { readonly kind: 'object'; readonly key: string; readonly node: ObjectRule };

/** One level of the pattern: every field must match (AND), and one `$or` branch if there is a `$or`. */
interface ObjectRule {
  readonly fields: readonly FieldRule[];
  readonly anyOf: readonly ObjectRule[] | undefined;
}

/** A validated, compiled pattern: parse it once with `parseEventPattern`, then match it against many events. */
export interface EventPattern {
  readonly root: ObjectRule;
}

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isLeafValue(value: unknown): value is LeafValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || isFiniteNumber(value);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

/** The only key of a match expression such as `{ "prefix": "us-" }`, checked the way Event Ruler checks it. */
function onlyKey(expression: Record<string, unknown>, whenEmpty: string): string {
  const keys = Object.keys(expression);
  const [key] = keys;
  if (key === undefined) fail(whenEmpty);
  if (keys.length > 1) fail('Only one key allowed in match expression');
  return key;
}

/**
 * Parses and validates an event pattern given as JSON text or as an already-parsed value.
 * Throws `InvalidEventPatternError` with AWS's reason when the pattern would be rejected.
 */
export function parseEventPattern(pattern: string | unknown): EventPattern {
  let document: unknown = pattern;
  if (typeof pattern === 'string') {
    try {
      document = JSON.parse(pattern);
    } catch (error) {
      fail(`Filter is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!isJsonObject(document)) fail('Filter is not an object');
  return { root: compileObject(document, false) };
}

function compileObject(pattern: Record<string, unknown>, insideOr: boolean): ObjectRule {
  const fields: FieldRule[] = [];
  let anyOf: ObjectRule[] | undefined;
  const keys = Object.keys(pattern);
  if (keys.length === 0) fail('Empty objects are not allowed');
  for (const key of keys) {
    const value = pattern[key];
    if (key === '$or') {
      anyOf = compileOr(value);
      continue;
    }
    // Inside `$or` an operator name as a field is almost certainly a misplaced operator, so Ruler rejects it.
    if (insideOr && OPERATORS.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside $or.`);
    }
    if (Array.isArray(value)) fields.push({ kind: 'leaf', key, rule: compileLeaf(value) });
    else if (isJsonObject(value)) fields.push({ kind: 'object', key, node: compileObject(value, insideOr) });
    else fail(`"${key}" must be an object or an array`);
  }
  return { fields, anyOf };
}

function compileOr(value: unknown): ObjectRule[] {
  if (!Array.isArray(value)) fail('It must be an Array followed with $or.');
  const branches = value.map((branch) => {
    if (!isJsonObject(branch)) fail('Only JSON object is allowed in array of $or relationship.');
    return compileObject(branch, true);
  });
  if (branches.length < 2) fail('There must have at least 2 Objects in $or relationship.');
  return branches;
}

function compileLeaf(values: readonly unknown[]): LeafRule {
  if (values.length === 0) fail('Empty arrays are not allowed');
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const tests: ValueTest[] = [];
  let acceptsTrue = false;
  let acceptsFalse = false;
  let acceptsNull = false;
  let acceptsPresent = false;
  let acceptsAbsent = false;
  for (const value of values) {
    if (typeof value === 'string') strings.add(value);
    else if (isFiniteNumber(value)) numbers.add(value);
    else if (value === true) acceptsTrue = true;
    else if (value === false) acceptsFalse = true;
    else if (value === null) acceptsNull = true;
    else if (isJsonObject(value)) {
      const operator = onlyKey(value, 'Match expression name not found');
      const argument = value[operator];
      if (operator === 'exists') {
        if (argument === true) acceptsPresent = true;
        else if (argument === false) acceptsAbsent = true;
        else fail('exists match pattern must be either true or false.');
      } else {
        tests.push(compileOperator(operator, argument));
      }
    } else fail('Match value must be String, number, true, false, or null');
  }
  return { strings, numbers, acceptsTrue, acceptsFalse, acceptsNull, tests, acceptsPresent, acceptsAbsent };
}

function compileOperator(operator: string, argument: unknown): ValueTest {
  switch (operator) {
    case 'prefix':
      return compileAffix('prefix', argument);
    case 'suffix':
      return compileAffix('suffix', argument);
    case 'equals-ignore-case': {
      if (typeof argument !== 'string') fail('equals-ignore-case match pattern must be a string');
      const expected = argument.toLowerCase();
      return (value) => typeof value === 'string' && value.toLowerCase() === expected;
    }
    case 'wildcard': {
      if (typeof argument !== 'string') fail('wildcard match pattern must be a string');
      const regex = compileWildcard(argument);
      return (value) => typeof value === 'string' && regex.test(value);
    }
    case 'numeric':
      return compileNumeric(argument);
    case 'cidr':
      return compileCidr(argument);
    case 'anything-but':
      return compileAnythingBut(argument);
    default:
      return fail(`Unrecognized match type ${operator}`);
  }
}

/** `prefix` / `suffix`, either plain (`"us-"`) or `{ "equals-ignore-case": "us-" }`. */
function compileAffix(operator: 'prefix' | 'suffix', argument: unknown): ValueTest {
  const mustBeString = `${operator} match pattern must be a string`;
  if (typeof argument === 'string') {
    return operator === 'prefix'
      ? (value) => typeof value === 'string' && value.startsWith(argument)
      : (value) => typeof value === 'string' && value.endsWith(argument);
  }
  if (!isJsonObject(argument)) fail(mustBeString);
  const modifier = onlyKey(argument, mustBeString);
  if (modifier !== 'equals-ignore-case') fail(`Unsupported ${operator} pattern: ${modifier}`);
  const text = argument[modifier];
  if (typeof text !== 'string') fail(mustBeString);
  const lower = text.toLowerCase();
  return operator === 'prefix'
    ? (value) => typeof value === 'string' && value.toLowerCase().startsWith(lower)
    : (value) => typeof value === 'string' && value.toLowerCase().endsWith(lower);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * `*` matches any run of characters, including none; `\*` is a literal star and `\\` a literal backslash.
 * AWS rejects `**` and any other escape, so we do too rather than guess what was meant.
 */
function compileWildcard(pattern: string): RegExp {
  let source = '^';
  let literal = '';
  let previousWasStar = false;
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern.charAt(index);
    if (char === '\\') {
      const escaped = pattern.charAt(index + 1);
      if (escaped !== '*' && escaped !== '\\') fail(`Invalid escape character at pos ${index}`);
      literal += escaped;
      index++;
      previousWasStar = false;
    } else if (char === '*') {
      if (previousWasStar) fail(`Consecutive wildcard characters at pos ${index}`);
      source += `${escapeRegExp(literal)}[\\s\\S]*`;
      literal = '';
      previousWasStar = true;
    } else {
      literal += char;
      previousWasStar = false;
    }
  }
  return new RegExp(`${source}${escapeRegExp(literal)}$`);
}

interface Bound {
  readonly value: number;
  readonly inclusive: boolean;
}

/**
 * `["=", x]`, `["<", x]`, `["<=", x]`, `[">", x]`, `[">=", x]`, or a range `[">"|">=", low, "<"|"<=", high]`.
 * Only JSON numbers match: the string "5" never satisfies a numeric condition.
 */
function compileNumeric(argument: unknown): ValueTest {
  if (!Array.isArray(argument)) fail('Value of numeric must be an array.');
  const terms: readonly unknown[] = argument;
  const [operator, operand] = terms;
  if (typeof operator !== 'string')
    fail(`Invalid member in numeric match: ${operator === undefined ? ']' : describe(operator)}`);
  const operandOf = (name: string, term: unknown): number =>
    isFiniteNumber(term) ? term : fail(`Value of ${name} must be numeric`);
  const rejectExtraTerms = (): void => {
    if (terms.length > 2) fail('Too many elements in numeric expression');
  };
  switch (operator) {
    case '=': {
      const expected = operandOf('equals', operand);
      rejectExtraTerms();
      return (value) => value === expected;
    }
    case '<':
    case '<=': {
      const upper = { value: operandOf(operator, operand), inclusive: operator === '<=' };
      rejectExtraTerms();
      return numericRange(undefined, upper);
    }
    case '>':
    case '>=': {
      const lower = { value: operandOf(operator, operand), inclusive: operator === '>=' };
      if (terms.length === 2) return numericRange(lower, undefined);
      const [, , topOperator, topOperand] = terms;
      if (typeof topOperator !== 'string') fail(`Bad value in numeric range: ${describe(topOperator)}`);
      if (topOperator !== '<' && topOperator !== '<=') fail(`Bad numeric range operator: ${topOperator}`);
      const upper = { value: operandOf(topOperator, topOperand), inclusive: topOperator === '<=' };
      if (terms.length > 4) fail('Too many terms in numeric range expression');
      if (lower.value >= upper.value) fail('Bottom must be less than top');
      return numericRange(lower, upper);
    }
    default:
      return fail(`Unrecognized numeric range operator: ${operator}`);
  }
}

function numericRange(lower: Bound | undefined, upper: Bound | undefined): ValueTest {
  return (value) =>
    typeof value === 'number' &&
    (lower === undefined || (lower.inclusive ? value >= lower.value : value > lower.value)) &&
    (upper === undefined || (upper.inclusive ? value <= upper.value : value < upper.value));
}

interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

function parseIpv4(text: string): bigint | undefined {
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (octets === null) return undefined;
  let value = 0n;
  for (const octet of octets.slice(1)) {
    const byte = Number(octet);
    if (byte > 255) return undefined;
    value = (value << 8n) | BigInt(byte);
  }
  return value;
}

/** 16-bit groups of one side of `::`; only the very last group of an address may be a dotted IPv4 tail. */
function parseIpv6Groups(part: string, endsAddress: boolean): number[] | undefined {
  if (part === '') return [];
  const pieces = part.split(':');
  const groups: number[] = [];
  for (const [index, piece] of pieces.entries()) {
    if (piece.includes('.') && endsAddress && index === pieces.length - 1) {
      const tail = parseIpv4(piece);
      if (tail === undefined) return undefined;
      groups.push(Number(tail >> 16n), Number(tail & 0xffffn));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
      groups.push(Number.parseInt(piece, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | undefined {
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return undefined;
  let groups: number[] | undefined;
  if (gap === -1) {
    groups = parseIpv6Groups(text, true);
    if (groups?.length !== 8) return undefined;
  } else {
    const head = parseIpv6Groups(text.slice(0, gap), false);
    const tail = parseIpv6Groups(text.slice(gap + 2), true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

/** The CIDR block becomes an inclusive numeric range once, so matching is two comparisons. */
function compileCidr(argument: unknown): ValueTest {
  // AWS answers a non-string CIDR with the prefix operator's message; we keep its wording.
  if (typeof argument !== 'string') fail('prefix match pattern must be a string');
  const parts = argument.split('/');
  const [addressText, maskText] = parts;
  if (parts.length !== 2 || addressText === undefined || maskText === undefined) {
    fail("Malformed CIDR, one '/' required");
  }
  if (!/^-?\d+$/.test(maskText)) fail('Malformed CIDR, mask bits must be an integer');
  const maskBits = Number(maskText);
  if (maskBits < 0) fail('Malformed CIDR, mask bits must not be negative');
  const network = parseIp(addressText);
  if (network === undefined) fail(`Nonstandard IP address: ${addressText}`);
  const width = network.version === 4 ? 32 : 128;
  if (maskBits > width) fail(`IPv${network.version} mask bits must be at most ${width}`);
  const hostBits = (1n << BigInt(width - maskBits)) - 1n;
  const first = network.value & ~hostBits;
  const last = first | hostBits;
  return (value) => {
    if (typeof value !== 'string') return false;
    const address = parseIp(value);
    return address?.version === network.version && address.value >= first && address.value <= last;
  };
}

/** A string or a non-empty list of strings, as the `anything-but` sub-operators accept. */
function stringList(argument: unknown, notAString: string): string[] {
  if (typeof argument === 'string') return [argument];
  if (!Array.isArray(argument)) fail(notAString);
  if (argument.length === 0) fail('Empty arrays are not allowed');
  return argument.map((item: unknown) => (typeof item === 'string' ? item : fail(notAString)));
}

/**
 * Matches any present value the wrapped condition rejects, including values of another type: the docs'
 * `anything-but: "initializing"` accepts `null` and numbers. A missing field never matches.
 */
function compileAnythingBut(argument: unknown): ValueTest {
  if (typeof argument === 'string' || isFiniteNumber(argument)) return (value) => value !== argument;
  if (Array.isArray(argument)) {
    const items: readonly unknown[] = argument;
    if (items.some((item) => typeof item !== 'string' && !isFiniteNumber(item))) {
      fail('Inside anything but list, start|null|boolean is not supported.');
    }
    const strings = new Set(items.filter((item): item is string => typeof item === 'string'));
    const numbers = new Set(items.filter(isFiniteNumber));
    if (strings.size > 0 === numbers.size > 0) {
      fail('Inside anything but list, either all values are number or string, mixed type is not supported');
    }
    return (value) =>
      typeof value === 'string'
        ? !strings.has(value)
        : typeof value === 'number'
          ? !numbers.has(value)
          : true;
  }
  if (!isJsonObject(argument)) fail('Value of anything-but must be an array or single string/number value.');
  const operator = onlyKey(argument, 'Anything-But expression name not found');
  const inner = argument[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      if (isJsonObject(inner)) fail('Value of anything-but must be an array or single string/number value.');
      const affixes = stringList(inner, 'prefix/suffix match pattern must be a string');
      if (affixes.includes('')) fail('Null prefix/suffix not allowed');
      return operator === 'prefix'
        ? (value) => typeof value !== 'string' || !affixes.some((affix) => value.startsWith(affix))
        : (value) => typeof value !== 'string' || !affixes.some((affix) => value.endsWith(affix));
    }
    case 'equals-ignore-case': {
      const notAString =
        'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.';
      const excluded = new Set(stringList(inner, notAString).map((text) => text.toLowerCase()));
      return (value) => typeof value !== 'string' || !excluded.has(value.toLowerCase());
    }
    case 'wildcard': {
      const regexes = stringList(inner, 'wildcard match pattern must be a string').map(compileWildcard);
      return (value) => typeof value !== 'string' || !regexes.some((regex) => regex.test(value));
    }
    default:
      return fail(`Unsupported anything-but pattern: ${operator}`);
  }
}

// Matching. A field's values are the JSON scalars at its path; arrays are flattened ("crushed out", in Ruler's
// words), and an object where a leaf is expected is not a value, because operators work on leaf nodes only.

const NO_VALUE = 0;
const NO_MATCH = 1;
const MATCH = 2;
type ScanResult = typeof NO_VALUE | typeof NO_MATCH | typeof MATCH;

const EMPTY_OBJECT: Readonly<Record<string, unknown>> = Object.freeze({});

function valueMatches(rule: LeafRule, value: LeafValue): boolean {
  if (typeof value === 'string') {
    if (rule.strings.has(value)) return true;
  } else if (typeof value === 'number') {
    if (rule.numbers.has(value)) return true;
  } else if (value === null ? rule.acceptsNull : value ? rule.acceptsTrue : rule.acceptsFalse) {
    return true;
  }
  for (const test of rule.tests) if (test(value)) return true;
  return false;
}

function scanLeaf(rule: LeafRule, value: unknown): ScanResult {
  if (isLeafValue(value)) return valueMatches(rule, value) ? MATCH : NO_MATCH;
  if (!Array.isArray(value)) return NO_VALUE;
  let result: ScanResult = NO_VALUE;
  for (const item of value) {
    const itemResult = scanLeaf(rule, item);
    if (itemResult === MATCH) return MATCH;
    if (itemResult === NO_MATCH) result = NO_MATCH;
  }
  return result;
}

function leafMatches(rule: LeafRule, value: unknown): boolean {
  const result = scanLeaf(rule, value);
  if (result === MATCH) return true;
  return result === NO_MATCH ? rule.acceptsPresent : rule.acceptsAbsent;
}

function fieldsMatch(node: ObjectRule, event: Readonly<Record<string, unknown>>): boolean {
  for (const field of node.fields) {
    const value = Object.hasOwn(event, field.key) ? event[field.key] : undefined;
    const matched = field.kind === 'leaf' ? leafMatches(field.rule, value) : objectMatches(field.node, value);
    if (!matched) return false;
  }
  return node.anyOf === undefined || node.anyOf.some((branch) => fieldsMatch(branch, event));
}

/** Fields under one array element must all match within that same element, as Ruler's JSON matching does. */
function scanObjects(node: ObjectRule, items: readonly unknown[]): ScanResult {
  let result: ScanResult = NO_VALUE;
  for (const item of items) {
    const itemResult: ScanResult = Array.isArray(item)
      ? scanObjects(node, item)
      : isJsonObject(item)
        ? fieldsMatch(node, item)
          ? MATCH
          : NO_MATCH
        : NO_VALUE;
    if (itemResult === MATCH) return MATCH;
    if (itemResult === NO_MATCH) result = NO_MATCH;
  }
  return result;
}

function objectMatches(node: ObjectRule, value: unknown): boolean {
  if (Array.isArray(value)) {
    const result = scanObjects(node, value);
    // With no object inside, nothing exists below this path: only `exists: false` conditions can hold.
    return result === MATCH || (result === NO_VALUE && fieldsMatch(node, EMPTY_OBJECT));
  }
  return fieldsMatch(node, isJsonObject(value) ? value : EMPTY_OBJECT);
}

/** True when the event (a parsed JSON value, envelope fields included) matches the pattern, as TestEventPattern. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return objectMatches(pattern.root, event);
}
