// The consent wiring users depend on: the admin consent routes, purpose settings reaching functions, segments hearing changes.
import { describe, expect, it } from 'vitest';
import { synthTemplate, templateHelpers } from './support/template.ts';

const PURPOSES = {
  tracking: ['statistics'],
  emailMarketing: ['newsletter'],
  personalization: ['ux'],
};
const template = synthTemplate({
  stage: 'dev',
  trackingConsent: 'opt-in',
  trackingConsentCategories: 'statistics',
  emailConsentCategories: 'newsletter',
  personalizationConsentCategories: 'ux',
});
const { logicalId, adminRoutesServedBy } = templateHelpers(template);

function environmentOf(functionPattern: RegExp): Record<string, unknown> {
  const id = logicalId('AWS::Lambda::Function', functionPattern);
  return template.findResources('AWS::Lambda::Function')[id]?.Properties.Environment.Variables ?? {};
}

describe('the consent admin API', () => {
  it('serves GET and PUT /admin/profiles/{id}/consent from its own function, behind the admin authorizer', () => {
    expect(adminRoutesServedBy({ routes: /\/consent$/, handler: /^TrackingAdminConsentFunction/ })).toEqual([
      'GET /admin/profiles/{id}/consent',
      'PUT /admin/profiles/{id}/consent',
    ]);
  });
});

describe('purpose settings', () => {
  it('reach collect (with the opt-in mode), the consent API, banners and segments alike', () => {
    for (const pattern of [
      /^TrackingCollectFunction/,
      /^TrackingAdminConsentFunction/,
      /^BannersContentFunction/,
      /^SegmentsEvaluateFunction/,
    ])
      expect(JSON.parse(String(environmentOf(pattern).CONSENT_PURPOSES)), String(pattern)).toEqual(PURPOSES);
    expect(environmentOf(/^TrackingCollectFunction/).TRACKING_CONSENT).toBe('opt-in');
  });
});

describe('consent changes', () => {
  it('reach the segments queue, so memberships follow a withdrawal', () => {
    const rule = logicalId('AWS::Events::Rule', /^SegmentsInputs/);
    const pattern = template.findResources('AWS::Events::Rule')[rule]?.Properties.EventPattern;

    expect(JSON.stringify(pattern)).toContain('profile.consent_changed');
  });
});
