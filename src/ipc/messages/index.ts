/**
 * The method table shared by client and server: for each method its params and result types.
 * The server's registry (../registry.ts) pairs each with its zod schema and handler.
 */
import type { ComposeParams, ComposeResult } from './compose.js';
import type { PendingParams, PendingResult } from './pending.js';
import type { PingParams, PingResult } from './ping.js';
import type { PreviewParams, PreviewResult } from './preview.js';
import type { ReconcileParams, ReconcileResult } from './reconcile.js';
import type { AnswerParams, AnswerResult } from './answer.js';
import type { ApproveParams, ApproveResult } from './approve.js';
import type { EditParams, EditResult } from './edit.js';
import type { RegenerateParams, RegenerateResult } from './regenerate.js';
import type { RejectParams, RejectResult } from './reject.js';
import type { RetryParams, RetryResult } from './retry.js';
import type { ShowParams, ShowResult } from './show.js';
import type { HistoryParams, HistoryResult } from './history.js';
import type { StatusParams, StatusResult } from './status.js';
import type { SubscribeParams, SubscribeResult } from './subscribe.js';

export interface MethodTable {
  ping: { params: PingParams; result: PingResult };
  status: { params: StatusParams; result: StatusResult };
  pending: { params: PendingParams; result: PendingResult };
  answer: { params: AnswerParams; result: AnswerResult };
  reject: { params: RejectParams; result: RejectResult };
  retry: { params: RetryParams; result: RetryResult };
  approve: { params: ApproveParams; result: ApproveResult };
  regenerate: { params: RegenerateParams; result: RegenerateResult };
  edit: { params: EditParams; result: EditResult };
  show: { params: ShowParams; result: ShowResult };
  history: { params: HistoryParams; result: HistoryResult };
  reconcile: { params: ReconcileParams; result: ReconcileResult };
  compose: { params: ComposeParams; result: ComposeResult };
  subscribe: { params: SubscribeParams; result: SubscribeResult };
  preview: { params: PreviewParams; result: PreviewResult };
}

export type Method = keyof MethodTable;
export type ParamsOf<M extends Method> = MethodTable[M]['params'];
export type ResultOf<M extends Method> = MethodTable[M]['result'];
