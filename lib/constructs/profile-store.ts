// The profile store: one on-demand DynamoDB table for profiles, identities, events and state, with TTL and PITR.
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface ProfileStoreProps {
  /** Production keeps the table (and its backups) when the stack is deleted; development removes it. */
  readonly retainData: boolean;
}

/** Attribute names are part of the stored data's contract: renaming one orphans every existing item. */
export const PROFILE_STORE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttl: 'expiresAt',
  /** Secondary lookups (identity by trait, items by due time, ...): `gsi1pk` / `gsi1sk`. */
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export class ProfileStore extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: ProfileStoreProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: PROFILE_STORE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: PROFILE_STORE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: PROFILE_STORE_KEYS.ttl,
      encryption: TableEncryption.AWS_MANAGED,
      // The stream is the outbox: domain events are published from stored changes, so none is lost.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: props.retainData,
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: PROFILE_STORE_KEYS.gsi1.name,
      partitionKey: { name: PROFILE_STORE_KEYS.gsi1.partitionKey, type: AttributeType.STRING },
      sortKey: { name: PROFILE_STORE_KEYS.gsi1.sortKey, type: AttributeType.STRING },
    });
  }
}
