// Imports over the admin API: POST /admin/imports runs a small CSV or JSON Lines file synchronously.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';
import { ENRICHMENT_DATA_DIRECTORY } from './tracking.ts';

export interface ImportsProps {
  readonly httpApi: NurtureHttpApi;
  /** The profile table: rows become events, profiles and traits in it, as tracked identifies do. */
  readonly table: Table;
  /** Guards the import route. */
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  /** How long the rows' stored events are kept; the same as tracked events. */
  readonly eventRetentionDays: number;
  /** Merge profiles that share an email, as the tracking API does. */
  readonly mergeOnEmail: boolean;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

export class Imports extends Construct {
  public readonly admin: NurtureFunction;

  constructor(scope: Construct, id: string, props: ImportsProps) {
    super(scope, id);
    if (!(Number.isInteger(props.eventRetentionDays) && props.eventRetentionDays > 0)) {
      throw new Error('Imports: eventRetentionDays must be a positive whole number');
    }
    this.admin = new NurtureFunction(this, 'AdminImports', {
      entry: 'admin-imports',
      description: 'Admin API: imports a small CSV or JSON Lines file synchronously (larger files: the CLI)',
      // CPU for parsing and enrichment; the answer must come within API Gateway's 30 s.
      memorySize: 1024,
      timeout: Duration.seconds(29),
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      // Import rows are enriched like identifies (email only); the data loads on the first row.
      dataDirectories: [ENRICHMENT_DATA_DIRECTORY],
      environment: {
        NURTURE_STAGE: props.stage,
        EVENT_RETENTION_DAYS: String(props.eventRetentionDays),
        MERGE_ON_EMAIL: String(props.mergeOnEmail),
      },
    }).bindTable('PROFILE_TABLE', props.table, 'readWrite');
    props.httpApi.addRoute({
      method: HttpMethod.POST,
      path: '/admin/imports',
      handler: this.admin,
      authorizer: props.adminAuthorizer,
    });
  }
}
