// Stand-in for @aws-sdk/credential-provider-node in function bundles: Lambda gives credentials in environment
// variables, so the SSO/INI/STS/web-identity providers (and the STS client they bundle, ~80 KB) never run there.
import { fromEnv } from '@aws-sdk/credential-provider-env';

type EnvInit = Parameters<typeof fromEnv>[0];

export const defaultProvider = (init?: EnvInit) => fromEnv(init);

/** Environment credentials carry no expiry that needs refreshing. */
export const credentialsWillNeedRefresh = () => false;
export const credentialsTreatedAsExpired = () => false;
