// Shapes what a local rule target receives, via InputPath or an InputTransformer, as EventBridge documents them.
//
// Sources: the EventBridge user guide page "Amazon EventBridge input transformation" (predefined variables, the
// worked examples and "Common issues with transforming input") and the InputTransformer API reference.

/** Thrown for an input path or transformer PutTargets would reject. */
export class InvalidInputTransformerError extends Error {
  override readonly name = 'ValidationException';
}

/** A rule target's InputTransformer, with the API's field names in camelCase. */
export interface InputTransformer {
  readonly inputPathsMap?: Readonly<Record<string, string>>;
  readonly inputTemplate: string;
}

/** What the predefined `aws.events.*` variables refer to; the bus knows these, the event does not. */
export interface InputTransformerContext {
  readonly ruleArn?: string;
  readonly ruleName?: string;
  /** ISO 8601 time at which the bus received the event. */
  readonly ingestionTime?: string;
}

type PathStep =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'wildcard' };

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSONPath subset EventBridge documents: `$`, dot notation (names may hold dashes, underscores and slashes),
 * array indices and `*` wildcards. Bracketed names are not part of it.
 */
function parsePath(path: string): PathStep[] {
  const invalid = (): never => {
    throw new InvalidInputTransformerError(`Invalid JSON path: ${path}`);
  };
  if (!path.startsWith('$')) invalid();
  const steps: PathStep[] = [];
  let position = 1;
  while (position < path.length) {
    if (path[position] === '.') {
      let end = position + 1;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      const name = path.slice(position + 1, end);
      if (name === '') invalid();
      steps.push(name === '*' ? { kind: 'wildcard' } : { kind: 'key', key: name });
      position = end;
    } else if (path[position] === '[') {
      const end = path.indexOf(']', position);
      const inner = end === -1 ? '' : path.slice(position + 1, end);
      if (inner === '*') steps.push({ kind: 'wildcard' });
      else if (/^\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else invalid();
      position = end + 1;
    } else {
      invalid();
    }
  }
  return steps;
}

function step(values: readonly unknown[], pathStep: PathStep): unknown[] {
  const next: unknown[] = [];
  for (const value of values) {
    if (pathStep.kind === 'key') {
      if (isJsonObject(value) && Object.hasOwn(value, pathStep.key)) next.push(value[pathStep.key]);
    } else if (pathStep.kind === 'index') {
      if (Array.isArray(value) && pathStep.index < value.length) next.push(value[pathStep.index]);
    } else if (Array.isArray(value)) {
      next.push(...value);
    } else if (isJsonObject(value)) {
      next.push(...Object.values(value));
    }
  }
  return next;
}

/**
 * Selects part of an event with an InputPath. A path without wildcards yields the value, or `undefined` when the
 * event has nothing there (JSON `null` stays `null`); a path with a wildcard yields the array of every match.
 */
export function applyInputPath(path: string, event: unknown): unknown {
  const steps = parsePath(path);
  const matches = steps.reduce<unknown[]>((values, pathStep) => step(values, pathStep), [event]);
  return steps.some((pathStep) => pathStep.kind === 'wildcard') ? matches : matches[0];
}

const VARIABLE_NAME = /^[A-Za-z0-9_-]+$/;
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/y;
const ABSENT = Symbol('absent');

/** Where a placeholder sits decides how its value is written; see `render`. */
type Position = 'json-value' | 'json-string' | 'text';

/**
 * Per "Common issues with transforming input": outside quotes in a JSON template, strings gain quotes and objects
 * or arrays go in as JSON; inside a quoted string, strings go in as they are and objects or arrays lose their
 * internal quotes; extracted values are never escaped. A variable whose path found nothing "isn't created and won't
 * appear in the output": we write nothing in text, and `null` where a JSON value is required so the output stays JSON.
 */
function render(value: unknown, position: Position): string {
  if (value === ABSENT) return position === 'json-value' ? 'null' : '';
  if (typeof value === 'string') return position === 'json-value' ? `"${value}"` : value;
  const json = JSON.stringify(value) ?? 'null';
  return position === 'json-string' && typeof value === 'object' && value !== null
    ? json.replaceAll('"', '')
    : json;
}

function predefinedVariables(event: unknown, context: InputTransformerContext): Map<string, unknown> {
  // `aws.events.event` is documented as the original payload without its `detail` field.
  const eventWithoutDetail = isJsonObject(event)
    ? Object.fromEntries(Object.entries(event).filter(([key]) => key !== 'detail'))
    : event;
  return new Map<string, unknown>([
    ['aws.events.rule-arn', context.ruleArn ?? ABSENT],
    ['aws.events.rule-name', context.ruleName ?? ABSENT],
    ['aws.events.event.ingestion-time', context.ingestionTime ?? ABSENT],
    ['aws.events.event', eventWithoutDetail],
    ['aws.events.event.json', event],
  ]);
}

/**
 * Fills the InputTemplate's `<name>` placeholders from InputPathsMap and the predefined `aws.events.*` variables,
 * returning the text the target receives. Placeholders that name no variable are left as written.
 */
export function applyInputTransformer(
  transformer: InputTransformer,
  event: unknown,
  context: InputTransformerContext = {},
): string {
  const variables = new Map<string, unknown>();
  for (const [name, path] of Object.entries(transformer.inputPathsMap ?? {})) {
    if (!VARIABLE_NAME.test(name)) {
      throw new InvalidInputTransformerError(`InputPathsMap key "${name}" must match [A-Za-z0-9_-]+`);
    }
    const value = applyInputPath(path, event);
    variables.set(name, value === undefined ? ABSENT : value);
  }
  // Predefined variables are reserved and "can't be overwritten", so they are set last.
  for (const [name, value] of predefinedVariables(event, context)) variables.set(name, value);

  const template = transformer.inputTemplate;
  const isJsonTemplate = /^\s*[{["]/.test(template);
  let output = '';
  let insideString = false;
  let position = 0;
  while (position < template.length) {
    const char = template.charAt(position);
    if (char === '<') {
      PLACEHOLDER.lastIndex = position;
      const placeholder = PLACEHOLDER.exec(template);
      const name = placeholder?.[1];
      if (placeholder !== null && name !== undefined && variables.has(name)) {
        const where: Position = !isJsonTemplate ? 'text' : insideString ? 'json-string' : 'json-value';
        output += render(variables.get(name), where);
        position += placeholder[0].length;
        continue;
      }
    }
    if (insideString && char === '\\') {
      output += template.slice(position, position + 2);
      position += 2;
      continue;
    }
    if (char === '"') insideString = !insideString;
    output += char;
    position++;
  }
  return output;
}
