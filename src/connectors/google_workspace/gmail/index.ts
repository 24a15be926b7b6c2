/** Gmail as a product of the Google Workspace connector (settings: GMAIL_* in ./config.ts). */
import type { GoogleProductModule } from '../session';
import { productConfig } from '../session';
import { GMAIL_SCOPE } from './client';
import { parseGmailConfig, type GmailConfig } from './config';
import { EMAIL, EMAIL_LABEL } from './entities';
import { GmailProduct } from './product';
import { gmailWebhook } from './webhooks';

export const gmailProduct: GoogleProductModule<GmailConfig> = {
  name: 'gmail',
  // labels first: threads point at them
  entities: [EMAIL_LABEL, EMAIL],
  scopes: [GMAIL_SCOPE],
  parseConfig: parseGmailConfig,
  create: (session) => new GmailProduct(session, productConfig(session, gmailProduct)),
  webhook: gmailWebhook,
};
