// The one structured JSON logger every handler uses (Powertools), so log fields and levels are uniform.
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'nurture' });
