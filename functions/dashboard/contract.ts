// HTTP contract of the dashboard page, merged into docs/openapi.json.
import type { Operation } from '../shared/contract-types.ts';

export const dashboardOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/dashboard',
    summary:
      'The KPI dashboard page: public HTML shell with no data; it asks for the admin token and reads GET /admin/kpis',
    auth: 'none',
    responses: { '200': 'text/html' },
  },
];
