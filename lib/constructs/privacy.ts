// Data subject rights: the admin API that exports everything held about a person and erases them with an audit.
import { Duration } from 'aws-cdk-lib';
import { HttpMethod, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NurtureHttpApi } from './http-api.ts';
import { NurtureFunction } from './nurture-function.ts';

export interface PrivacyProps {
  readonly httpApi: NurtureHttpApi;
  /** The profile table: every item of a person is in it, and so are the erasure jobs and the audit records. */
  readonly table: Table;
  /** Guards every privacy route: an export is the most personal answer the API gives. */
  readonly adminAuthorizer: IHttpRouteAuthorizer;
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
  readonly stage: string;
}

/** The privacy admin routes, as the contract (functions/privacy/contract.ts) documents them. */
export const PRIVACY_ROUTES: ReadonlyArray<readonly [HttpMethod, string]> = [
  [HttpMethod.GET, '/admin/privacy/export'],
  [HttpMethod.POST, '/admin/privacy/erasure'],
  [HttpMethod.GET, '/admin/privacy/audit'],
];

export class Privacy extends Construct {
  public readonly admin: NurtureFunction;

  constructor(scope: Construct, id: string, props: PrivacyProps) {
    super(scope, id);
    if (props.stage.trim() === '') throw new Error('Privacy: stage must not be empty');
    this.admin = new NurtureFunction(this, 'Admin', {
      entry: 'admin-privacy',
      description: 'Admin API: export everything held about a person, erase a person, the erasure audit',
      memorySize: 512,
      // Just under API Gateway's 30 s: a bigger erasure stops there and the same request run again finishes it.
      timeout: Duration.seconds(29),
      logRetention: props.logRetention,
      retainLogs: props.retainData,
      environment: { NURTURE_STAGE: props.stage },
    })
      // Reads every layout of a person's items and deletes them; no bus, queue or secret.
      .bindTable('PROFILE_TABLE', props.table, 'readWrite');
    for (const [method, path] of PRIVACY_ROUTES)
      props.httpApi.addRoute({ method, path, handler: this.admin, authorizer: props.adminAuthorizer });
  }
}
