/**
 * The Google Workspace connector of one connection (one user): dispatches each entity type to the
 * product that serves it (calendar/, gmail/, drive/), all sharing the user's auth client and
 * Google's backoff (GoogleSession).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import type {
  ChangeCursor,
  ChangePage,
  Connector,
  ExternalRecord,
  OpenChannelRequest,
  PushChannel,
  WriteCreate,
  WriteDelete,
  WriteOutcome,
  WriteUpdate,
} from '../types';
import { GOOGLE_SYSTEM } from './config';
import type { GoogleProduct, GoogleSession } from './session';

export class GoogleWorkspaceConnector implements Connector {
  readonly system = GOOGLE_SYSTEM;
  readonly connection: string;
  /** records per write call: each is its own HTTP request (Calendar has no batch write we use) */
  readonly batchSize = 50;

  constructor(
    readonly session: GoogleSession,
    private readonly products: readonly GoogleProduct[],
  ) {
    this.connection = session.user;
  }

  /** API requests made, rate-limit refusals and retries (tests, metrics) */
  get calls() {
    return this.session.calls;
  }

  private product(entityType: string): GoogleProduct {
    const p = this.products.find((x) => x.entityTypes.includes(entityType));
    if (!p) {
      throw ApplicationFailure.create({ type: ErrorType.BadRequest, message: `google_workspace has no entity type "${entityType}"`, nonRetryable: true });
    }
    return p;
  }

  listChanges(entityType: string, cursor: ChangeCursor | null, resume: boolean): AsyncIterable<ChangePage> {
    return this.product(entityType).listChanges(entityType, cursor, resume);
  }

  readByIds(entityType: string, externalIds: string[]): Promise<ExternalRecord[]> {
    return this.product(entityType).readByIds(entityType, externalIds);
  }

  async readArchived(entityType: string, externalIds: string[]): Promise<ExternalRecord[]> {
    const p = this.product(entityType);
    return p.readArchived ? p.readArchived(entityType, externalIds) : [];
  }

  create(entityType: string, creates: WriteCreate[]): Promise<WriteOutcome[]> {
    return this.product(entityType).create(entityType, creates);
  }

  update(entityType: string, updates: WriteUpdate[]): Promise<WriteOutcome[]> {
    return this.product(entityType).update(entityType, updates);
  }

  delete(entityType: string, deletes: WriteDelete[]): Promise<WriteOutcome[]> {
    return this.product(entityType).delete(entityType, deletes);
  }

  async watchableResources(entityType: string): Promise<string[]> {
    const p = this.product(entityType);
    return p.watchableResources ? p.watchableResources(entityType) : [];
  }

  openChannel(entityType: string, req: OpenChannelRequest): Promise<PushChannel> {
    const p = this.product(entityType);
    if (!p.openChannel) {
      throw ApplicationFailure.create({ type: ErrorType.BadRequest, message: `google_workspace cannot watch ${entityType}`, nonRetryable: true });
    }
    return p.openChannel(entityType, req);
  }

  async stopChannel(entityType: string, channel: PushChannel): Promise<void> {
    const p = this.product(entityType);
    if (p.stopChannel) await p.stopChannel(entityType, channel);
  }
}
