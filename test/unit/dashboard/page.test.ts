// The dashboard shell: one inline script admitted by hash, no data and no outside resources, labelled controls.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dashboardPage, inlineScript } from '../../../functions/dashboard/page.ts';
import { dayReportSchema, dimensionReportSchema } from '../../../functions/dashboard/report-schema.ts';
import { kpiReport, lifetimeTotals } from '../../../functions/kpis/query.ts';
import { SYNTHETIC_COSTS, syntheticKpiDays } from '../../e2e/support/synthetic-kpis.ts';

const SCRIPT = 'console.log("dashboard");';

function inlineScriptsOf(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

describe('the dashboard shell', () => {
  it('inlines the client script once and admits exactly that script by its hash', () => {
    const page = dashboardPage({ script: SCRIPT });

    const scripts = inlineScriptsOf(page.html);

    expect(scripts).toEqual([SCRIPT]);
    expect(page.contentSecurityPolicy).toContain(`script-src 'sha256-${sha256(SCRIPT)}'`);
  });

  it('allows only same-origin requests and no plugins, frames, base or form targets', () => {
    const { contentSecurityPolicy } = dashboardPage({ script: SCRIPT });

    expect(contentSecurityPolicy).toContain("default-src 'none'");
    expect(contentSecurityPolicy).toContain("connect-src 'self'");
    expect(contentSecurityPolicy).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy).toContain("base-uri 'none'");
    expect(contentSecurityPolicy).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  });

  it('admits its inline style by hash as well', () => {
    const page = dashboardPage({ script: SCRIPT });
    const style = /<style>([\s\S]*?)<\/style>/.exec(page.html)?.[1] ?? '';

    expect(page.contentSecurityPolicy).toContain(`style-src 'sha256-${sha256(style)}'`);
  });

  it('loads nothing from anywhere: no src, no href, no URL in the shell', () => {
    const { html } = dashboardPage({ script: SCRIPT });

    expect(html).not.toMatch(/\s(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('holds no KPI figures: the headline and tables are empty until the client fetches them', () => {
    const { html } = dashboardPage({ script: SCRIPT });

    expect(html).toContain('<dl id="headline" class="figures"></dl>');
    expect(html).toContain('<div class="table-wrap" id="table-channel"></div>');
    expect(html).not.toMatch(/<td/);
  });

  it('labels every input it asks for', () => {
    const { html } = dashboardPage({ script: SCRIPT });
    const inputIds = [...html.matchAll(/<input id="([^"]+)"/g)].map((match) => match[1]);

    expect(inputIds).toEqual(['token', 'from', 'to']);
    for (const id of inputIds) expect(html).toContain(`<label for="${id}">`);
  });

  it('keeps a script that mentions </script> from closing its element early', () => {
    const script = 'const tag = "</script><script>alert(1)</script>"; // <!--';

    const page = dashboardPage({ script });

    expect(inlineScriptsOf(page.html)).toEqual([inlineScript(script)]);
    expect(page.contentSecurityPolicy).toContain(`'sha256-${sha256(inlineScript(script))}'`);
  });

  it('changes its validator when the script changes, and only then', () => {
    const first = dashboardPage({ script: SCRIPT });

    const again = dashboardPage({ script: SCRIPT });
    const changed = dashboardPage({ script: `${SCRIPT};1` });

    expect(again.etag).toBe(first.etag);
    expect(changed.etag).not.toBe(first.etag);
  });
});

describe('the report shape the dashboard reads', () => {
  it('accepts the KPI report of every groupBy as the KPI module builds it', async () => {
    const days = await syntheticKpiDays();
    const report = (groupBy: 'day' | 'channel' | 'campaign' | 'landingPage') =>
      JSON.parse(
        JSON.stringify(
          kpiReport({
            days,
            from: '2026-05-01',
            to: '2026-05-03',
            groupBy,
            costs: SYNTHETIC_COSTS,
            lifetime: lifetimeTotals(days),
          }),
        ),
      );

    expect(dayReportSchema.parse(report('day')).rows).toHaveLength(3);
    for (const groupBy of ['channel', 'campaign', 'landingPage'] as const)
      expect(dimensionReportSchema.parse(report(groupBy)).rows.length).toBeGreaterThan(1);
  });
});
