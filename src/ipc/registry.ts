/** The method registry: method name → its params schema and handler. */
import type { Method } from './messages/index.js';
import type { MessageHandler } from './handlers/handler.js';
import { handleAnswer } from './handlers/handle-answer.js';
import { handleCompose } from './handlers/handle-compose.js';
import { handlePending } from './handlers/handle-pending.js';
import { handlePing } from './handlers/handle-ping.js';
import { handlePreview } from './handlers/handle-preview.js';
import { handleReconcile } from './handlers/handle-reconcile.js';
import { handleReject } from './handlers/handle-reject.js';
import { handleApprove } from './handlers/handle-approve.js';
import { handleEdit } from './handlers/handle-edit.js';
import { handleRegenerate } from './handlers/handle-regenerate.js';
import { handleHistory } from './handlers/handle-history.js';
import { handleShow } from './handlers/handle-show.js';
import { handleRetry } from './handlers/handle-retry.js';
import { handleStatus } from './handlers/handle-status.js';
import { handleSubscribe } from './handlers/handle-subscribe.js';

type AnyHandler = MessageHandler<Method>;

// The second parameter differs per handler; the mapped key already ties each method to its schema.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const table: { [M in Method]: MessageHandler<M, any> } = {
  ping: handlePing,
  status: handleStatus,
  pending: handlePending,
  answer: handleAnswer,
  reject: handleReject,
  approve: handleApprove,
  regenerate: handleRegenerate,
  edit: handleEdit,
  show: handleShow,
  history: handleHistory,
  retry: handleRetry,
  reconcile: handleReconcile,
  compose: handleCompose,
  subscribe: handleSubscribe,
  preview: handlePreview,
};

/** The handler of `method`, or undefined for an unknown method. */
export function lookupHandler(method: string): AnyHandler | undefined {
  return Object.hasOwn(table, method) ? (table[method as Method] as AnyHandler) : undefined;
}

/** Every method the server answers. */
export const METHODS = Object.keys(table) as Method[];
