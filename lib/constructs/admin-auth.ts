// Authorization for /admin/* routes: a bearer token kept in Secrets Manager (default) or IAM (SigV4) callers.
import { Duration, Validations } from 'aws-cdk-lib';
import type { IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpIamAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { NurtureFunction } from './nurture-function.ts';

export interface AdminAuthProps {
  /** `token`: callers send `Authorization: Bearer <token>`; `iam`: callers sign requests with SigV4. */
  readonly mode: 'token' | 'iam';
  readonly logRetention: RetentionDays;
  readonly retainData: boolean;
}

export class AdminAuth extends Construct {
  public readonly authorizer: IHttpRouteAuthorizer;
  /** The secret holding the admin bearer token (token mode only). */
  public readonly tokenSecret?: Secret;
  public readonly authorizerFunction?: NurtureFunction;

  constructor(scope: Construct, id: string, props: AdminAuthProps) {
    super(scope, id);
    if (props.mode === 'iam') {
      this.authorizer = new HttpIamAuthorizer();
      return;
    }
    this.tokenSecret = new Secret(this, 'AdminToken', {
      description:
        'Bearer token for the Nurture admin API. Rotate by putting a new value; picked up within 5 minutes.',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.tokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A static API token: rotation is an operator action (put a new value), documented in the runbook.',
    });
    this.authorizerFunction = new NurtureFunction(this, 'Authorizer', {
      entry: 'admin-authorizer',
      description: 'Checks the admin bearer token for /admin/* routes',
      memorySize: 256,
      timeout: Duration.seconds(5),
      logRetention: props.logRetention,
      retainLogs: props.retainData,
    }).bindSecret('ADMIN_TOKEN_SECRET_ARN', this.tokenSecret);
    this.authorizer = new HttpLambdaAuthorizer('AdminTokenAuthorizer', this.authorizerFunction.function, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      // Short, so that a rotated or revoked token stops working quickly.
      resultsCacheTtl: Duration.seconds(60),
    });
  }
}
