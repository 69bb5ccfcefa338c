// Sending a template to one person: personalization, tracked links with UTM tags, the open pixel, unsubscribing.
import { describe, expect, it } from 'vitest';
import { addressHash } from '../../../../functions/messaging/address.ts';
import type { RenderContext, TemplateVersion } from '../../../../functions/messaging/model.ts';
import { compileTemplate } from '../../../../functions/messaging/templates/compile.ts';
import {
  MessageRenderer,
  RenderError,
  type RenderInput,
} from '../../../../functions/messaging/templates/render.ts';
import { type LinkToken, TokenSigner } from '../../../../functions/messaging/tokens.ts';
import type { JsonObject } from '../../../../functions/tracking/model.ts';

const signer = new TokenSigner(['a-test-secret-that-is-long-enough-0123456789']);
const API = 'https://api.nurture.example';
const RECIPIENT = 'Ada.Lovelace@Example.com';

let versions = 0;

/** A saved template version written in plain HTML; every call is a new version so nothing is served from cache. */
function template(parts: Partial<TemplateVersion> & { html: string }): TemplateVersion {
  versions += 1;
  return {
    templateId: 'tpl_welcome',
    version: versions,
    subject: 'Welcome',
    text: '',
    preheader: '',
    topic: 'marketing',
    mjml: null,
    createdAt: '2024-06-03T09:00:00.000Z',
    ...parts,
  };
}

function context(traits: JsonObject = {}): RenderContext {
  return {
    traits,
    profile: { id: 'prof_ada', userId: 'user-42', email: RECIPIENT },
    message: { id: 'msg_001' },
  };
}

function input(overrides: Partial<RenderInput> & { template: TemplateVersion }): RenderInput {
  return {
    context: context(),
    messageId: 'msg_001',
    profileId: 'prof_ada',
    recipient: RECIPIENT,
    trackingBaseUrl: API,
    signer,
    campaign: 'spring-sale',
    utmSource: 'nurture',
    track: { opens: true, clicks: true },
    ...overrides,
  };
}

/** The href of every `<a>` in the HTML, decoded from its attribute form. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/<a\s[^>]*?href="([^"]*)"/g)].map((match) =>
    (match[1] ?? '').replaceAll('&amp;', '&'),
  );
}

/** The hrefs of the template's own links: everything but the unsubscribe footer marketing mail gets. */
function contentHrefs(message: { html: string; unsubscribeUrl: string | null }): string[] {
  return hrefs(message.html).filter((href) => href !== message.unsubscribeUrl);
}

/** Decodes a tracked URL of ours back into the token it carries. */
function tokenOf(trackedUrl: string): LinkToken {
  const match = /\/e\/[cou]\/([^/?#\s)]+)$/.exec(trackedUrl);
  if (!match?.[1]) throw new Error(`not a tracked URL: ${trackedUrl}`);
  return signer.verify(match[1]);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing randomized case can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('personalizing a message', () => {
  it('renders an MJML template compiled once for each recipient with their own traits', async () => {
    const compiled = await compileTemplate({
      subject: 'Welcome, {{ traits.firstName }}',
      mjml: `<mjml><mj-body><mj-section><mj-column>
        <mj-text>Hello {{ traits.firstName | default: "there" }}!{% if traits.plan == "pro" %} Your Pro features are ready.{% endif %}</mj-text>
      </mj-column></mj-section></mj-body></mjml>`,
    });
    const saved: TemplateVersion = {
      ...compiled,
      templateId: 'tpl_mjml',
      version: 1,
      createdAt: '2024-06-03',
    };
    const renderer = new MessageRenderer();

    const ada = await renderer.render(
      input({ template: saved, context: context({ firstName: 'Ada', plan: 'pro' }) }),
    );
    const grace = await renderer.render(input({ template: saved, context: context({ firstName: 'Grace' }) }));

    expect(ada.html).toContain('Hello Ada! Your Pro features are ready.');
    expect(ada.html).toContain('mj-column-per-100');
    expect(ada.text).toContain('Hello Ada! Your Pro features are ready.');
    expect(grace.html).toContain('Hello Grace!');
    expect(grace.html).not.toContain('Pro features');
    expect(grace.subject).toBe('Welcome, Grace');
  });

  it('falls back to the default filter, or to nothing, when a trait is missing', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<p>Hi {{ traits.firstName | default: "there" }}, from {{ traits.company.name }}.</p>',
          text: 'Hi {{ traits.firstName | default: "there" }}',
        }),
      }),
    );

    expect(message.html).toContain('<p>Hi there, from .</p>');
    expect(message.text).toMatch(/^Hi there/);
  });

  it('exposes the profile and the message to the template', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ html: '<p>{{ profile.userId }} {{ profile.email }} {{ message.id }}</p>' }),
      }),
    );

    expect(message.html).toContain('<p>user-42 Ada.Lovelace@Example.com msg_001</p>');
  });

  it('escapes trait values in the HTML but not in the plain-text part', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<p>Hi {{ traits.firstName }}</p>',
          text: 'Hi {{ traits.firstName }}',
        }),
        context: context({ firstName: '<script>alert("x")</script>' }),
      }),
    );

    expect(message.html).toContain('<p>Hi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>');
    expect(message.html).not.toContain('<script>');
    expect(message.text).toMatch(/^Hi <script>alert\("x"\)<\/script>/);
  });

  it('prints a trait that looks like Liquid as it is, never evaluating it', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ subject: 'Hi {{ traits.firstName }}', html: '<p>{{ traits.firstName }}</p>' }),
        context: context({ firstName: '{{ 7 | times: 6 }}{% for i in (1..3) %}x{% endfor %}' }),
      }),
    );

    expect(message.subject).toBe('Hi {{ 7 | times: 6 }}{% for i in (1..3) %}x{% endfor %}');
    expect(message.html).toContain('{{ 7 | times: 6 }}{% for i in (1..3) %}x{% endfor %}');
    expect(message.html).not.toContain('42');
  });

  it('cannot read properties a trait object inherits', async () => {
    const message = await new MessageRenderer().render(
      input({ template: template({ html: '<p>[{{ traits.constructor }}][{{ traits.toString }}]</p>' }) }),
    );

    expect(message.html).toContain('<p>[][]</p>');
  });

  it('keeps a hostile URL trait inside its attribute', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ html: '<a href="{{ traits.url }}">Open</a>' }),
        context: context({ url: 'https://shop.example/" onclick="alert(1)' }),
        track: { opens: false, clicks: false },
      }),
    );

    expect(message.html).not.toContain('" onclick="');
    expect(message.links).toEqual([
      'https://shop.example/%22%20onclick=%22alert(1)?utm_source=nurture&utm_medium=email&utm_campaign=spring-sale',
    ]);
  });
});

describe('subject and preheader', () => {
  it('personalizes the subject and the preheader', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          subject: '{{ traits.firstName }}, your {{ traits.plan | default: "free" }} plan',
          preheader: 'Three tips for {{ traits.company }}',
          html: '<html><body class="mail"><p>Body</p></body></html>',
        }),
        context: context({ firstName: 'Ada', company: 'Analytical Engines' }),
      }),
    );

    expect(message.subject).toBe('Ada, your free plan');
    expect(message.html).toMatch(
      /^<html><body class="mail"><div style="display:none;[^"]*">Three tips for Analytical Engines<\/div><p>Body<\/p>/,
    );
  });

  it('turns line breaks and control characters from traits into spaces, so no header can be injected', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          subject: 'Hi {{ traits.firstName }}',
          preheader: '{{ traits.firstName }}',
          html: '<body></body>',
        }),
        context: context({ firstName: 'Ada\r\nBcc: everyone@example.com\u0000\t' }),
      }),
    );

    expect(message.subject).toBe('Hi Ada Bcc: everyone@example.com');
    expect(message.html).toContain('>Ada Bcc: everyone@example.com</div>');
  });

  it('never lets a subject exceed one header line, whatever the traits', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ subject: '{{ traits.story }}', html: '<p>x</p>' }),
        context: context({ story: 'long '.repeat(500) }),
      }),
    );

    expect(message.subject).toHaveLength(998);
  });

  it('keeps every subject free of control characters and every trait escaped, for random traits', async () => {
    const random = seededRandom(20240603);
    const alphabet = [
      'a',
      'Z',
      ' ',
      '<',
      '>',
      '"',
      "'",
      '&',
      '{',
      '}',
      '%',
      '|',
      '\r',
      '\n',
      '\t',
      '\u0000',
      'é',
      '😀',
    ];
    const renderer = new MessageRenderer();
    const saved = template({ subject: 'Hi {{ traits.name }}', html: '<p>{{ traits.name }}</p>' });

    for (let run = 0; run < 200; run += 1) {
      const length = Math.floor(random() * 40);
      let name = '';
      for (let i = 0; i < length; i += 1) name += alphabet[Math.floor(random() * alphabet.length)];
      const message = await renderer.render(input({ template: saved, context: context({ name }) }));

      expect(message.subject).not.toMatch(/\p{Cc}/u);
      expect(message.subject.length).toBeLessThanOrEqual(998);
      const body = /<p>(.*?)<\/p>/s.exec(message.html)?.[1] ?? '';
      expect(body).not.toMatch(/[<>"']/);
    }
  });
});

describe('links', () => {
  it('adds utm_source, utm_medium=email and utm_campaign to every web link', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<a href="https://shop.example/pricing?plan=pro&amp;period=year#faq">Pricing</a>',
        }),
        track: { opens: false, clicks: false },
      }),
    );

    expect(message.links).toEqual([
      'https://shop.example/pricing?plan=pro&period=year&utm_source=nurture&utm_medium=email&utm_campaign=spring-sale#faq',
    ]);
    expect(contentHrefs(message)).toEqual(message.links);
  });

  it('keeps the UTM tags an author already put on a link', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ html: '<a href="https://shop.example/?utm_campaign=black-friday">Deals</a>' }),
        track: { opens: false, clicks: false },
      }),
    );

    expect(message.links).toEqual(['https://shop.example/?utm_campaign=black-friday']);
  });

  it('sends clicks through the API with a signed token that names the tagged destination and the link', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<a href="https://shop.example/a">A</a> <a class="btn" href=\'https://shop.example/b\'>B</a>',
        }),
      }),
    );

    const [first, second] = contentHrefs(message);
    expect(first).toMatch(/^https:\/\/api\.nurture\.example\/e\/c\//);
    expect(tokenOf(first ?? '')).toEqual({
      kind: 'click',
      messageId: 'msg_001',
      profileId: 'prof_ada',
      url: 'https://shop.example/a?utm_source=nurture&utm_medium=email&utm_campaign=spring-sale',
      linkIndex: 0,
    });
    expect(tokenOf(second ?? '')).toMatchObject({
      url: 'https://shop.example/b?utm_source=nurture&utm_medium=email&utm_campaign=spring-sale',
      linkIndex: 1,
    });
    expect(message.links).toHaveLength(2);
  });

  it('gives the same link the same index wherever it appears', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<a href="https://shop.example/">Logo</a><a href="https://shop.example/x">X</a><a href="https://shop.example/">Shop</a>',
        }),
      }),
    );

    const indexes = contentHrefs(message).map((href) => {
      const token = tokenOf(href);
      return token.kind === 'click' ? token.linkIndex : -1;
    });
    expect(indexes).toEqual([0, 1, 0]);
    expect(message.links).toHaveLength(2);
  });

  it('leaves mail, phone, in-page and opted-out links exactly as written', async () => {
    const html =
      '<a href="mailto:help@shop.example">Mail</a><a href="tel:+441234">Call</a><a href="#top">Top</a>' +
      '<a data-nurture-track="false" href="https://partner.example/signed?sig=abc">Partner</a>';
    const message = await new MessageRenderer().render(input({ template: template({ html }) }));

    expect(message.html.startsWith(html)).toBe(true);
    expect(message.links).toEqual([]);
  });

  it('links straight to the tagged destination when clicks are not tracked', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ html: '<a href="https://shop.example/a">A</a>' }),
        track: { opens: true, clicks: false },
      }),
    );

    expect(contentHrefs(message)).toEqual([
      'https://shop.example/a?utm_source=nurture&utm_medium=email&utm_campaign=spring-sale',
    ]);
  });

  it('sends a link too long to sign straight to its destination rather than breaking it', async () => {
    const longUrl = `https://shop.example/search?q=${'shoes-'.repeat(600)}`;
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: `<a href="${longUrl}">Results</a><a href="https://shop.example/">Shop</a>`,
        }),
      }),
    );

    const [results, shop] = contentHrefs(message);
    expect(results).toBe(`${longUrl}&utm_source=nurture&utm_medium=email&utm_campaign=spring-sale`);
    expect(tokenOf(shop ?? '')).toMatchObject({ kind: 'click', linkIndex: 1 });
  });

  it('tracks the links of the plain-text part like those of the HTML', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<a href="https://shop.example/a">A</a>',
          text: 'See A (https://shop.example/a). Not in the HTML: https://elsewhere.example/',
        }),
      }),
    );

    const [tracked] = contentHrefs(message);
    expect(message.text).toContain(`See A (${tracked}). Not in the HTML: https://elsewhere.example/`);
  });

  it('tracks links whose destination comes from a trait', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ html: '<a href="{{ traits.cartUrl }}">Your cart</a>' }),
        context: context({ cartUrl: 'https://shop.example/cart?id=7&ref=mail' }),
      }),
    );

    expect(tokenOf(contentHrefs(message)[0] ?? '')).toMatchObject({
      url: 'https://shop.example/cart?id=7&ref=mail&utm_source=nurture&utm_medium=email&utm_campaign=spring-sale',
    });
  });
});

describe('open tracking', () => {
  it('puts a signed 1×1 pixel at the end of the body when opens are tracked', async () => {
    const message = await new MessageRenderer().render(
      input({ template: template({ html: '<html><body><p>Hi</p></body></html>' }) }),
    );

    const pixel = /<img src="([^"]+)" width="1" height="1" alt="" style="[^"]*"><\/body><\/html>$/.exec(
      message.html,
    );
    expect(tokenOf(pixel?.[1] ?? '')).toEqual({ kind: 'open', messageId: 'msg_001', profileId: 'prof_ada' });
  });

  it('adds no pixel when opens are not tracked', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({ html: '<body><p>Hi</p></body>' }),
        track: { opens: false, clicks: true },
      }),
    );

    expect(message.html).not.toContain('/e/o/');
  });

  it('works with an API base URL that ends in a slash', async () => {
    const message = await new MessageRenderer().render(
      input({ template: template({ html: '<p>Hi</p>' }), trackingBaseUrl: 'http://127.0.0.1:4000/' }),
    );

    expect(message.html).toContain('src="http://127.0.0.1:4000/e/o/');
    expect(message.unsubscribeUrl).toMatch(/^http:\/\/127\.0\.0\.1:4000\/e\/u\//);
  });
});

describe('unsubscribing', () => {
  it('gives marketing mail one-click List-Unsubscribe headers with a token for the address and topic', async () => {
    const message = await new MessageRenderer().render(input({ template: template({ html: '<p>Hi</p>' }) }));

    expect(message.headers).toEqual([
      { name: 'List-Unsubscribe', value: `<${message.unsubscribeUrl}>` },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ]);
    expect(tokenOf(message.unsubscribeUrl ?? '')).toEqual({
      kind: 'unsubscribe',
      messageId: 'msg_001',
      profileId: 'prof_ada',
      addressHash: addressHash(RECIPIENT),
      topic: 'marketing',
    });
  });

  it('adds an unsubscribe footer to both parts when the template has no unsubscribe link', async () => {
    const message = await new MessageRenderer().render(
      input({ template: template({ html: '<html><body><p>Hi</p></body></html>', text: 'Hi' }) }),
    );

    expect(message.html).toMatch(/<p style="[^"]*"><a href="([^"]+)"[^>]*>Unsubscribe<\/a><\/p><img /);
    expect(hrefs(message.html)).toEqual([message.unsubscribeUrl]);
    expect(message.text).toBe(`Hi\n\nUnsubscribe: ${message.unsubscribeUrl}\n`);
  });

  it('uses the template’s own unsubscribe link, untracked, and adds no footer', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          html: '<p><a href="{{ unsubscribe_url }}">Stop these emails</a></p>',
          text: 'Stop: {{ unsubscribe_url }}',
        }),
      }),
    );

    expect(hrefs(message.html)).toEqual([message.unsubscribeUrl]);
    expect(message.html).not.toContain('>Unsubscribe<');
    expect(message.text).toBe(`Stop: ${message.unsubscribeUrl}`);
    expect(message.links).toEqual([]);
  });

  it('gives transactional mail no unsubscribe headers, footer or link', async () => {
    const message = await new MessageRenderer().render(
      input({
        template: template({
          topic: 'transactional',
          html: '<body><p>Receipt</p><p>[{{ unsubscribe_url }}]</p></body>',
          text: 'Receipt',
        }),
      }),
    );

    expect(message.headers).toEqual([]);
    expect(message.unsubscribeUrl).toBeNull();
    expect(message.html).toContain('<p>[]</p>');
    expect(message.html).not.toContain('/e/u/');
    expect(message.text).toBe('Receipt');
  });
});

describe('templates that cannot render', () => {
  it('fails a runaway loop quickly with a RenderError naming the template and the part', async () => {
    const saved = template({
      html: '{% for a in (1..100000) %}{% for b in (1..100000) %}{% for c in (1..100000) %}x{% endfor %}{% endfor %}{% endfor %}',
    });
    const started = performance.now();

    const error = await new MessageRenderer()
      .render(input({ template: saved }))
      .catch((caught: unknown) => caught);

    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(RenderError);
    expect(error).toMatchObject({ templateId: 'tpl_welcome', version: saved.version, part: 'html' });
    expect(String(error)).toMatch(/tpl_welcome.*html.*limit exceeded/);
  });

  it('fails a template that spins without allocating once it has used its time budget', async () => {
    const saved = template({
      html: '<p>ok</p>',
      text: '{% for a in (1..3000) %}{% for b in (1..3000) %}{% assign n = b %}{% endfor %}{% endfor %}',
    });
    const started = performance.now();

    const error = await new MessageRenderer()
      .render(input({ template: saved }))
      .catch((caught: unknown) => caught);

    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toMatchObject({ name: 'RenderError', part: 'text' });
    expect(String(error)).toMatch(/template render limit exceeded/);
  });

  it('reports a template saved with a Liquid syntax error as a RenderError of that part', async () => {
    const saved = template({ subject: 'Hi {{ traits.firstName | shout }}', html: '<p>Hi</p>' });

    const error = await new MessageRenderer()
      .render(input({ template: saved }))
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'RenderError', part: 'subject' });
    expect(String(error)).toMatch(/undefined filter: shout/);
  });
});
