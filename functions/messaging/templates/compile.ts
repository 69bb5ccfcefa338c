// Saving a template: MJML compiled to HTML once, every part checked for Liquid errors, the text part derived.
import { convert, type HtmlToTextOptions } from 'html-to-text';
import * as z from 'zod';
import type { TemplateInput, TemplateVersion } from '../model.ts';
import { createLiquidEngine, liquidErrorMessages } from './liquid.ts';

export type CompiledTemplate = Omit<TemplateVersion, 'templateId' | 'version' | 'createdAt'>;

/** RFC 5322 caps a header line at 998 characters. */
export const MAX_SUBJECT_CHARS = 998;
/** Gmail clips messages above ~102 KB; 400 KB leaves room for Liquid loops while keeping SES's 10 MB far away. */
export const MAX_HTML_BYTES = 400 * 1024;
export const MAX_TEXT_BYTES = 100 * 1024;

/** Every problem of a template at once, so the operator fixes them in one round. */
export class TemplateValidationError extends Error {
  override name = 'TemplateValidationError';
  readonly errors: string[];

  constructor(errors: string[]) {
    super(`template is invalid: ${errors.join('; ')}`);
    this.errors = errors;
  }
}

const htmlEngine = createLiquidEngine('html');
const plainEngine = createLiquidEngine('plain');

const mjmlErrorsSchema = z.object({
  errors: z.array(z.object({ line: z.number(), message: z.string(), tagName: z.string() })).min(1),
});

/** Headings keep their case: uppercasing would turn `{{ traits.firstName }}` into an unknown variable. */
const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({
  selector,
  options: { uppercase: false },
}));

const TEXT_OPTIONS: HtmlToTextOptions = {
  // No wrapping: a line break inside a quoted Liquid literal would change what the template prints.
  wordwrap: false,
  formatters: {
    // Table rows as lines and cells as words: receipts stay readable and MJML's layout tables add no noise.
    cell: (element, walk, builder) => {
      walk(element.children, builder);
      builder.addInline(' ');
    },
  },
  selectors: [
    { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'td', format: 'cell' },
    { selector: 'th', format: 'cell' },
    ...HEADINGS,
    { selector: 'a', options: { linkBrackets: ['(', ')'], hideLinkHrefIfSameAsText: true } },
    { selector: 'img', format: 'skip' },
    // The inbox preview (mj-preview, hand-written preheaders) is for the inbox list, not for the text body.
    { selector: 'div[style*="display:none"]', format: 'skip' },
  ],
};

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

async function compileMjml(source: string, errors: string[]): Promise<string | null> {
  // mj-include would read files next to the function bundle; a saved template must be one document.
  if (/<mj-include\b/i.test(source)) {
    errors.push('MJML: mj-include is not supported; put the content in the template');
    return null;
  }
  try {
    // Loaded on first use: MJML and its dependencies are most of this module's weight, and an admin function
    // answering other routes should not pay for them at cold start.
    const { default: mjml2html } = await import('mjml');
    const result = await mjml2html(source, {
      validationLevel: 'strict',
      ignoreIncludes: true,
      keepComments: false,
    });
    return result.html;
  } catch (error) {
    const reported = mjmlErrorsSchema.safeParse(error);
    if (reported.success) {
      for (const problem of reported.data.errors)
        errors.push(`MJML line ${problem.line} <${problem.tagName}>: ${problem.message}`);
    } else {
      errors.push(`MJML: ${error instanceof Error ? error.message : String(error)}`);
    }
    return null;
  }
}

/** Parses a part with the renderer's own configuration; returns whether it parsed. */
function checkLiquid(input: { part: string; source: string; html: boolean; errors: string[] }): boolean {
  try {
    (input.html ? htmlEngine : plainEngine).parse(input.source);
    return true;
  } catch (error) {
    for (const message of liquidErrorMessages(error)) input.errors.push(`${input.part}: ${message}`);
    return false;
  }
}

function deriveText(html: string): string {
  return convert(html, TEXT_OPTIONS)
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Validates and compiles a template as saved by an operator. MJML becomes HTML here, once; Liquid stays in every
 * part and is only evaluated per send. Throws TemplateValidationError listing every problem found.
 */
export async function compileTemplate(input: TemplateInput): Promise<CompiledTemplate> {
  const errors: string[] = [];
  const subject = input.subject;
  const preheader = input.preheader ?? '';
  if (subject.trim() === '') errors.push('subject is required');
  if (subject.length > MAX_SUBJECT_CHARS)
    errors.push(`subject is ${subject.length} characters; at most ${MAX_SUBJECT_CHARS} are allowed`);
  checkLiquid({ part: 'subject', source: subject, html: false, errors });
  checkLiquid({ part: 'preheader', source: preheader, html: false, errors });

  let html: string | null = null;
  let htmlLiquidValid = false;
  const mjml = present(input.mjml) ? input.mjml : null;
  if (mjml !== null && present(input.html)) {
    errors.push('give either mjml or html, not both');
  } else if (mjml !== null) {
    // Liquid is checked in the MJML source so line numbers point at what the operator wrote; MJML still runs,
    // so its own problems are reported in the same round.
    const sourceValid = checkLiquid({ part: 'mjml', source: mjml, html: true, errors });
    html = await compileMjml(mjml, errors);
    htmlLiquidValid =
      sourceValid &&
      html !== null &&
      checkLiquid({ part: 'html compiled from mjml', source: html, html: true, errors });
  } else if (present(input.html)) {
    html = input.html;
    htmlLiquidValid = checkLiquid({ part: 'html', source: html, html: true, errors });
  } else {
    errors.push('mjml or html is required');
  }

  if (html !== null && Buffer.byteLength(html) > MAX_HTML_BYTES)
    errors.push(`html is ${Buffer.byteLength(html)} bytes; at most ${MAX_HTML_BYTES} are allowed`);

  let text = present(input.text) ? input.text : null;
  if (text !== null) checkLiquid({ part: 'text', source: text, html: false, errors });
  else if (html !== null) {
    text = deriveText(html);
    // Liquid inside attributes is dropped with them: an `{% if %}` opened in one leaves the text unbalanced.
    // (When the HTML itself is broken, the text repeats its errors; those are already reported.)
    if (htmlLiquidValid) checkLiquid({ part: 'text derived from html', source: text, html: false, errors });
  }
  if (text !== null && Buffer.byteLength(text) > MAX_TEXT_BYTES)
    errors.push(`text is ${Buffer.byteLength(text)} bytes; at most ${MAX_TEXT_BYTES} are allowed`);

  if (errors.length > 0 || html === null || text === null) throw new TemplateValidationError(errors);
  return {
    subject,
    html,
    text,
    preheader,
    topic: input.topic ?? 'marketing',
    mjml,
  };
}
