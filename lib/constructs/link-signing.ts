// The secret every signed link (email opens, clicks, unsubscribes, banner clicks) is signed and verified with.
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface LinkSigningProps {
  /**
   * Production keeps the secret when the stack is deleted, so links in mail already sent stay verifiable if the
   * stack is recreated; development removes it.
   */
  readonly retainData: boolean;
}

export class LinkSigning extends Construct {
  /** Functions read it with `bindSecret` and `loadTokenSigner` (functions/shared/signing.ts). */
  public readonly secret: Secret;

  constructor(scope: Construct, id: string, props: LinkSigningProps) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description:
        'Signs Nurture tracked links. Rotate by putting ["<new>","<old>"] (newest first); drop the old one later.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Automatic rotation would break every link in mail already sent. Rotation is an operator action: put ' +
        '["<new>","<old>"] (signing uses the first, verification accepts all), then drop the old one once its ' +
        'links no longer matter (README, Operations).',
    });
  }
}
