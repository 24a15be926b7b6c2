/**
 * Google Drive as a product of the Google Workspace connector. Its settings:
 *   GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE  Drive requests per user per rolling minute the engine allows itself (Drive's default quota: 12,000)
 *   GOOGLE_DRIVE_SHARED_DRIVES              true (default): also the shared drives each user can see (supportsAllDrives)
 *   GOOGLE_DRIVE_SEND_NOTIFICATION_EMAIL    false (default): grants made by the sync email nobody
 */
import { z } from 'zod';
import { parseEnv } from '../../../core/env';
import { productConfig, type GoogleProductModule } from '../session';
import { DRIVE_SCOPE, type DriveSettings } from './client';
import { DRIVE_FILE, DRIVE_PERMISSION } from './entities';
import { DriveProduct } from './product';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

const DriveEnv = {
  GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE: z.coerce.number().int().min(1).default(12_000),
  GOOGLE_DRIVE_SHARED_DRIVES: flag.default(true),
  GOOGLE_DRIVE_SEND_NOTIFICATION_EMAIL: flag.default(false),
};

export function parseDriveConfig(env: Record<string, string>): DriveSettings {
  const e = parseEnv(DriveEnv, env);
  return {
    quotaPerUserPerMinute: e.GOOGLE_DRIVE_QUOTA_PER_USER_PER_MINUTE,
    sharedDrives: e.GOOGLE_DRIVE_SHARED_DRIVES,
    sendNotificationEmail: e.GOOGLE_DRIVE_SEND_NOTIFICATION_EMAIL,
  };
}

export const driveProduct: GoogleProductModule<DriveSettings> = {
  name: 'drive',
  entities: [DRIVE_FILE, DRIVE_PERMISSION],
  scopes: [DRIVE_SCOPE],
  parseConfig: parseDriveConfig,
  create(session) {
    return new DriveProduct(session, productConfig(session, driveProduct) ?? parseDriveConfig({}));
  },
};
