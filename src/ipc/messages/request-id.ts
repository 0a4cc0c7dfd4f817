/** The request-id parameter shared by `answer`, `reject` and `retry`: a full id or a unique prefix. */
import { z } from 'zod';

export const RequestIdParam = z.string().min(1).max(64);
