// HTTP contract of the banner API: component schemas and operations, merged into docs/openapi.json.
import * as z from 'zod';
import type { Operation } from '../../shared/contract-types.ts';
import { assignBannerRequest } from './admin.ts';
import { bannerSchema, callToActionSchema } from './banner.ts';

const storedBanner = bannerSchema.meta({
  description: 'A banner assigned to one placement of one profile, shown until expiresAt.',
});

export const bannerSchemas: Record<string, z.ZodType> = {
  BannerContent: z
    .object({
      id: z.string(),
      title: z.string().meta({ description: 'Plain text.' }),
      body: z.string().meta({ description: 'Plain text.' }),
      html: z.string().nullable().meta({ description: 'Trusted operator HTML, or null.' }),
      cta: callToActionSchema
        .extend({
          url: z.string().meta({ description: 'Tracked link: /e/b/{token}, redirects to the target.' }),
        })
        .nullable(),
    })
    .meta({ description: "A visitor's banner for one placement." }),
  AssignBanner: assignBannerRequest,
  Banner: storedBanner,
  BannerList: z.object({
    profileId: z.string(),
    banners: z.array(
      storedBanner.extend({
        impressions: z.number().int().meta({ description: 'Views counted for this bannerId.' }),
        clicks: z.number().int().meta({ description: 'Call-to-action clicks counted for this bannerId.' }),
      }),
    ),
  }),
};

const profileId = { name: 'id', in: 'path', required: true, description: 'Profile id' } as const;
const placement = {
  name: 'placement',
  in: 'path',
  required: true,
  description: 'Placement name: 1–64 of a-z, 0-9, "-" and "_"',
} as const;
const visitor = 'exactly one of anonymousId or userId';

export const bannerOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/v1/content/{placement}',
    summary:
      "A visitor's banner for a placement; 204 (no body) when there is none. Counts a view. Browsers pass writeKey in the query",
    auth: 'writeKey',
    parameters: [
      placement,
      { name: 'anonymousId', in: 'query', required: false, description: visitor },
      { name: 'userId', in: 'query', required: false, description: visitor },
      { name: 'writeKey', in: 'query', required: false, description: 'unless sent with Basic auth' },
    ],
    responses: { '200': 'BannerContent', '400': 'Error', '401': 'Error' },
  },
  {
    method: 'get',
    path: '/e/b/{token}',
    summary: "A banner's tracked call to action: counts the click and redirects (302) to its target",
    auth: 'none',
    parameters: [{ name: 'token', in: 'path', required: true, description: 'Signed link token' }],
    responses: { '400': 'text/html' },
  },
  {
    method: 'put',
    path: '/admin/profiles/{id}/banners/{placement}',
    summary: "Assign a banner to a profile's placement, replacing the one there",
    auth: 'admin',
    parameters: [profileId, placement],
    body: 'AssignBanner',
    responses: { '200': 'Banner', '400': 'Error', '404': 'Error' },
  },
  {
    method: 'get',
    path: '/admin/profiles/{id}/banners',
    summary: "A profile's active banners with their view and click counts",
    auth: 'admin',
    parameters: [profileId],
    responses: { '200': 'BannerList', '404': 'Error' },
  },
  {
    method: 'delete',
    path: '/admin/profiles/{id}/banners/{placement}',
    summary: "Withdraw a placement's banner; 204 (no body), also when there was none",
    auth: 'admin',
    parameters: [profileId, placement],
    responses: { '400': 'Error', '404': 'Error' },
  },
];
