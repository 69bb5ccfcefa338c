// Saving a template: MJML compiled once, every mistake reported at save time, the plain-text part derived.
import { describe, expect, it } from 'vitest';
import {
  compileTemplate,
  MAX_HTML_BYTES,
  MAX_TEXT_BYTES,
  TemplateValidationError,
} from '../../../../functions/messaging/templates/compile.ts';

const WELCOME_MJML = `<mjml>
  <mj-head>
    <mj-preview>Your first week with Acme</mj-preview>
  </mj-head>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>
          <h1>Welcome, {{ traits.firstName | default: "there" }}!</h1>
          {% if traits.plan == "pro" %}<p>Your Pro features are ready.</p>{% else %}<p>Try Pro free for 14 days.</p>{% endif %}
        </mj-text>
        <mj-button href="{{ traits.url }}">Open your dashboard</mj-button>
        <mj-text><a href="https://acme.example/guide?step=1&amp;lang=en">Read the guide</a></mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;

/** Runs a compile that must fail and returns the problems it reported. */
async function problemsOf(input: Parameters<typeof compileTemplate>[0]): Promise<string[]> {
  const error = await compileTemplate(input).then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof TemplateValidationError)) throw new Error('expected a TemplateValidationError');
  return error.errors;
}

describe('compiling MJML when a template is saved', () => {
  it('produces responsive HTML with the Liquid personalization left intact for each send', async () => {
    const compiled = await compileTemplate({ subject: 'Welcome to Acme', mjml: WELCOME_MJML });

    expect(compiled.html).toContain('<!doctype html>');
    expect(compiled.html).toMatch(/@media only screen and \(min-width:480px\)/);
    expect(compiled.html).toContain('{{ traits.firstName | default: "there" }}');
    expect(compiled.html).toContain('{% if traits.plan == "pro" %}');
    expect(compiled.html).toContain('{% endif %}');
    expect(compiled.html).toContain('href="{{ traits.url }}"');
    expect(compiled.html).not.toContain('<mj-');
  });

  it('keeps the MJML source so the template can be edited later', async () => {
    const compiled = await compileTemplate({ subject: 'Welcome to Acme', mjml: WELCOME_MJML });

    expect(compiled.mjml).toBe(WELCOME_MJML);
  });

  it('files templates under marketing with no preheader unless told otherwise', async () => {
    const compiled = await compileTemplate({ subject: 'Welcome', html: '<p>Hi</p>' });

    expect(compiled.topic).toBe('marketing');
    expect(compiled.preheader).toBe('');
    expect(compiled.mjml).toBeNull();
  });

  it('keeps a transactional topic and a preheader as given', async () => {
    const compiled = await compileTemplate({
      subject: 'Your receipt',
      html: '<p>Thanks</p>',
      preheader: 'Order {{ traits.orderId }}',
      topic: 'transactional',
    });

    expect(compiled.topic).toBe('transactional');
    expect(compiled.preheader).toBe('Order {{ traits.orderId }}');
  });
});

describe('refusing a template with mistakes', () => {
  it('lists every problem at once, with the MJML line and tag of each', async () => {
    const problems = await problemsOf({
      subject: '',
      mjml: [
        '<mjml>',
        '  <mj-body>',
        '    <mj-section>',
        '      <mj-hero-banner>Big news</mj-hero-banner>',
        '      <mj-column><mj-text padding="lots">Hi</mj-text></mj-column>',
        '    </mj-section>',
        '  </mj-body>',
        '</mjml>',
      ].join('\n'),
      text: 'Hi {{ traits.firstName | shout }}',
    });

    expect(problems).toEqual([
      'subject is required',
      expect.stringMatching(/^MJML line 4 <mj-hero-banner>: .*mj-hero-banner/),
      expect.stringMatching(/^MJML line 5 <mj-text>: .*padding/),
      expect.stringMatching(/^text: .*shout/),
    ]);
  });

  it('reports an unknown filter in the subject when saving, not when sending', async () => {
    const problems = await problemsOf({
      subject: 'Hi {{ traits.firstName | capitalise }}',
      html: '<p>Hi</p>',
    });

    expect(problems).toEqual([expect.stringMatching(/^subject: .*capitalise.*line:1/)]);
  });

  it('reports an unclosed Liquid tag in the HTML with its line', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      html: '<html><body>\n<p>Hello</p>\n{% if traits.vip %}<p>VIP</p>\n</body></html>',
    });

    expect(problems).toEqual([expect.stringMatching(/^html: .*if.*line:3/)]);
  });

  it('reports a Liquid mistake in MJML at the line the operator wrote it', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      mjml: '<mjml>\n<mj-body>\n<mj-section><mj-column>\n<mj-text>{% for item in traits.items %}{{ item }}</mj-text>\n</mj-column></mj-section>\n</mj-body>\n</mjml>',
    });

    expect(problems).toEqual([expect.stringMatching(/^mjml: .*for.*line:4/)]);
  });

  it('reports every Liquid mistake of a part, not only the first', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      html: '<p>{{ traits.a | nope }}</p>\n<p>{{ traits.b | neither }}</p>',
    });

    expect(problems).toEqual([expect.stringMatching(/nope/), expect.stringMatching(/neither/)]);
  });

  it('needs a body in MJML or HTML', async () => {
    const problems = await problemsOf({ subject: 'Hi' });

    expect(problems).toEqual(['mjml or html is required']);
  });

  it('refuses a template given in both MJML and HTML', async () => {
    const problems = await problemsOf({ subject: 'Hi', mjml: WELCOME_MJML, html: '<p>Hi</p>' });

    expect(problems).toEqual(['give either mjml or html, not both']);
  });

  it('refuses a subject longer than one header line', async () => {
    const problems = await problemsOf({ subject: 'a'.repeat(999), html: '<p>Hi</p>' });

    expect(problems).toEqual([expect.stringMatching(/subject is 999 characters/)]);
  });

  it('accepts a subject of exactly 998 characters', async () => {
    const compiled = await compileTemplate({ subject: 'a'.repeat(998), html: '<p>Hi</p>' });

    expect(compiled.subject).toHaveLength(998);
  });

  it('refuses HTML above 400 KB', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      html: `<p>${'x'.repeat(MAX_HTML_BYTES)}</p>`,
      text: 'Hi',
    });

    expect(problems).toEqual([expect.stringMatching(/^html is \d+ bytes; at most 409600/)]);
  });

  it('refuses a text part above 100 KB', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      html: '<p>Hi</p>',
      text: 'y'.repeat(MAX_TEXT_BYTES + 1),
    });

    expect(problems).toEqual([expect.stringMatching(/^text is 102401 bytes; at most 102400/)]);
  });

  it('does not let a template pull in other files', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      html: "<p>{% include 'footer' %}</p><p>{% render '/etc/passwd' %}</p>",
    });

    expect(problems).toEqual([
      expect.stringMatching(/^html: tag "include" is not available/),
      expect.stringMatching(/^html: tag "render" is not available/),
    ]);
  });

  it('does not let MJML pull in other files', async () => {
    const problems = await problemsOf({
      subject: 'Hi',
      mjml: '<mjml><mj-body><mj-include path="../../secrets.mjml" /></mj-body></mjml>',
    });

    expect(problems).toEqual([expect.stringMatching(/mj-include is not supported/)]);
  });
});

describe('deriving the plain-text part', () => {
  it('writes links as label and URL, keeps Liquid, and leaves out images and the hidden preview', async () => {
    const compiled = await compileTemplate({ subject: 'Welcome', mjml: WELCOME_MJML });

    expect(compiled.text).toContain('Welcome, {{ traits.firstName | default: "there" }}!');
    expect(compiled.text).toContain('{% if traits.plan == "pro" %}');
    expect(compiled.text).toContain('Open your dashboard ({{ traits.url }})');
    expect(compiled.text).toContain('Read the guide (https://acme.example/guide?step=1&lang=en)');
    expect(compiled.text).not.toContain('Your first week with Acme');
    expect(compiled.text).not.toMatch(/<[a-z]/i);
  });

  it('puts table rows on their own lines with cells separated', async () => {
    const compiled = await compileTemplate({
      subject: 'Receipt',
      html: '<table><tr><th>Item</th><th>Qty</th></tr><tr><td>{{ traits.item }}</td><td>2</td></tr></table>',
      topic: 'transactional',
    });

    expect(compiled.text).toBe('Item Qty\n{{ traits.item }} 2');
  });

  it('keeps a text part written by the operator as it is', async () => {
    const compiled = await compileTemplate({
      subject: 'Welcome',
      mjml: WELCOME_MJML,
      text: 'Hi {{ traits.firstName }}, see https://acme.example/start',
    });

    expect(compiled.text).toBe('Hi {{ traits.firstName }}, see https://acme.example/start');
  });
});
