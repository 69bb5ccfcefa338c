// The KPI dashboard page: its browser script bundled (with chart.js) at synth time, and the public GET /dashboard route.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the bundled client lands, relative to the repository root; git-ignored with node_modules. */
export const DASHBOARD_CLIENT_DIRECTORY = 'node_modules/.cache/nurture-dashboard';
/** The bundle's file name, in that folder and in `data/` beside the handler (functions/dashboard/handler.ts). */
export const DASHBOARD_CLIENT_FILE = 'dashboard-client.js';

/**
 * Bundles functions/dashboard/client.ts with chart.js into one browser script. Run at synth time, so `npm start`,
 * `cdk synth` and `cdk deploy` all serve the current client with no build step of their own. The file is replaced
 * atomically, so parallel syntheses (test workers) never copy a half-written bundle.
 */
export function buildDashboardClient(): string {
  const result = buildSync({
    entryPoints: [join(PROJECT_ROOT, 'functions', 'dashboard', 'client.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Browsers of the last few years; the dashboard is an operator tool, not a page for every visitor.
    target: ['chrome109', 'edge109', 'firefox115', 'safari15.6'],
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error('Dashboard: esbuild produced no client bundle');
  const directory = join(PROJECT_ROOT, DASHBOARD_CLIENT_DIRECTORY);
  mkdirSync(directory, { recursive: true });
  const target = join(directory, DASHBOARD_CLIENT_FILE);
  // Written beside the folder, not in it: the folder is copied whole into the function bundle.
  const partial = join(dirname(directory), `${DASHBOARD_CLIENT_FILE}.${process.pid}.tmp`);
  writeFileSync(partial, output.contents);
  renameSync(partial, target);
  return target;
}

export interface DashboardProps {
  readonly httpApi: NurtureHttpApi;
  readonly logRetention: RetentionDays;
  /** Whether the log group outlives the stack (production). */
  readonly retainData: boolean;
  readonly stage: string;
}

const SHELL_IS_PUBLIC =
  'The HTML and script shell only: it holds no data. The KPIs it shows come from GET /admin/kpis, which the page calls with the admin bearer token the user enters.';

export class Dashboard extends Construct {
  /** Serves `GET /dashboard`. */
  public readonly page: NurtureFunction;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    buildDashboardClient();
    this.page = new NurtureFunction(this, 'Page', {
      entry: 'dashboard',
      description: 'GET /dashboard: the KPI dashboard page (data comes from the admin API)',
      memorySize: 256,
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage },
      dataDirectories: [DASHBOARD_CLIENT_DIRECTORY],
    });
    props.httpApi.addRoute({
      method: HttpMethod.GET,
      path: '/dashboard',
      handler: this.page,
      publicReason: SHELL_IS_PUBLIC,
    });
  }
}
