// Email rendering benchmark: a newsletter compiled once at save, then rendered per recipient as a send batch would.
import { compileTemplate } from '../functions/messaging/templates/compile.ts';
import { MessageRenderer, type RenderInput } from '../functions/messaging/templates/render.ts';
import { TokenSigner } from '../functions/messaging/tokens.ts';

/** A newsletter as marketers write them: header image, hero, three sections with buttons, footer, ~10 links. */
export const NEWSLETTER_MJML = `<mjml>
  <mj-head>
    <mj-title>Acme monthly</mj-title>
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="22px" color="#333333" />
      <mj-button background-color="#2f6fed" border-radius="4px" font-weight="bold" />
    </mj-attributes>
    <mj-style inline="inline">.muted { color: #888888; }</mj-style>
  </mj-head>
  <mj-body background-color="#f4f4f4">
    <mj-section background-color="#ffffff" padding="16px 0">
      <mj-column>
        <mj-image src="https://cdn.acme.example/logo.png" alt="Acme" width="120px" href="https://acme.example/" />
      </mj-column>
    </mj-section>
    <mj-hero mode="fixed-height" height="280px" background-url="https://cdn.acme.example/hero.jpg" background-width="600px" background-height="280px" padding="60px 24px">
      <mj-text font-size="28px" line-height="34px" color="#ffffff" align="center">
        {% if traits.firstName %}{{ traits.firstName }}, your{% else %}Your{% endif %} spring update is here
      </mj-text>
      <mj-button href="https://acme.example/spring?ref=hero" align="center">See what's new</mj-button>
    </mj-hero>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text>
          <h2>Reports, rebuilt</h2>
          <p>Hi {{ traits.firstName | default: "there" }}, dashboards now load in under a second{% if traits.company %} for everyone at {{ traits.company }}{% endif %}.</p>
          <p>Read the <a href="https://acme.example/blog/reports">full story</a> or the <a href="https://docs.acme.example/reports">docs</a>.</p>
        </mj-text>
        <mj-button href="https://app.acme.example/reports">Open reports</mj-button>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column width="50%">
        <mj-image src="https://cdn.acme.example/integrations.png" alt="" />
      </mj-column>
      <mj-column width="50%">
        <mj-text>
          <h2>{% if traits.plan == "pro" %}Your Pro integrations{% else %}Integrations on every plan{% endif %}</h2>
          <p>Connect Slack, HubSpot and Salesforce in two clicks.</p>
        </mj-text>
        <mj-button href="https://app.acme.example/integrations?utm_campaign=integrations-push">Connect</mj-button>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text>
          <h2>Events near you</h2>
          {% if traits.city %}<p>We are in {{ traits.city }} on 12 June. <a href="https://acme.example/events/{{ traits.city | downcase | url_encode }}">Save your seat</a>.</p>{% else %}<p>Join a <a href="https://acme.example/webinars">live webinar</a> instead.</p>{% endif %}
        </mj-text>
        <mj-button href="https://acme.example/events">All events</mj-button>
      </mj-column>
    </mj-section>
    <mj-section padding="24px 0">
      <mj-column>
        <mj-social mode="horizontal" icon-size="20px">
          <mj-social-element name="linkedin" href="https://www.linkedin.com/company/acme">LinkedIn</mj-social-element>
          <mj-social-element name="x" href="https://x.com/acme">X</mj-social-element>
        </mj-social>
        <mj-text align="center" css-class="muted" font-size="12px">
          Acme Inc., 1 Market Street, San Francisco.
          <a href="https://acme.example/preferences?p={{ profile.id }}">Email preferences</a> ·
          <a href="{{ unsubscribe_url }}">Unsubscribe</a>
        </mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;

const CITIES = ['Berlin', 'London', 'São Paulo', 'New York', 'Tokyo', null];
const PLANS = ['free', 'pro', 'team'];
const WARM_RENDERS = 1000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

export async function benchRender(): Promise<Record<string, number>> {
  let started = performance.now();
  const compiled = await compileTemplate({
    subject: '{{ traits.firstName | default: "Hi" }}, your Acme spring update',
    preheader:
      'Faster reports, new integrations{% if traits.city %} and an event in {{ traits.city }}{% endif %}',
    mjml: NEWSLETTER_MJML,
  });
  const compileMs = performance.now() - started;
  const template = {
    ...compiled,
    templateId: 'tpl_newsletter',
    version: 1,
    createdAt: new Date().toISOString(),
  };
  const signer = new TokenSigner(['bench-secret-bench-secret-bench-secret-0001']);
  const inputFor = (i: number): RenderInput => {
    const traits: Record<string, string> = {
      firstName: `Reader${i}`,
      plan: PLANS[i % PLANS.length] ?? 'free',
    };
    const city = CITIES[i % CITIES.length];
    if (city) traits.city = city;
    if (i % 2 === 0) traits.company = `Company ${i}`;
    return {
      template,
      context: {
        traits,
        profile: { id: `prof_${i}`, userId: `user-${i}`, email: `reader${i}@example.com` },
        message: { id: `msg_${i}` },
      },
      messageId: `msg_${i}`,
      profileId: `prof_${i}`,
      recipient: `reader${i}@example.com`,
      trackingBaseUrl: 'https://api.nurture.example',
      signer,
      campaign: 'spring-update',
      utmSource: 'nurture',
      track: { opens: true, clicks: true },
    };
  };

  started = performance.now();
  const renderer = new MessageRenderer();
  const first = await renderer.render(inputFor(0));
  const coldRenderMs = performance.now() - started;

  const durations: number[] = [];
  let htmlBytes = 0;
  for (let i = 1; i <= WARM_RENDERS; i += 1) {
    const t = performance.now();
    const message = await renderer.render(inputFor(i));
    durations.push(performance.now() - t);
    htmlBytes += Buffer.byteLength(message.html);
  }
  const figures = {
    compileMs: Number(compileMs.toFixed(2)),
    coldRenderMs: Number(coldRenderMs.toFixed(2)),
    warmRenderP50Ms: Number(percentile(durations, 50).toFixed(3)),
    warmRenderP95Ms: Number(percentile(durations, 95).toFixed(3)),
    compiledHtmlBytes: Buffer.byteLength(template.html),
    renderedHtmlBytes: Math.round(htmlBytes / WARM_RENDERS),
    trackedLinks: first.links.length,
  };
  console.log(
    `\nemail rendering (MJML newsletter, ${figures.trackedLinks} tracked links, Liquid conditionals, opens + clicks tracked):`,
  );
  console.log(`  compile at save (MJML → HTML, Liquid checks, text part): ${ms(compileMs)}`);
  console.log(`  cold render (new renderer, first message, incl. Liquid parse): ${ms(coldRenderMs)}`);
  console.log(
    `  warm render (n=${WARM_RENDERS} profiles): p50 ${ms(figures.warmRenderP50Ms)}, p95 ${ms(figures.warmRenderP95Ms)}`,
  );
  console.log(
    `  HTML size: ${(figures.compiledHtmlBytes / 1024).toFixed(1)} KB compiled, ${(figures.renderedHtmlBytes / 1024).toFixed(1)} KB rendered`,
  );
  return figures;
}
