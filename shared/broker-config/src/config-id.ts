import { z } from 'zod';

/** An id the configuration gives a caller, endpoint, org, workspace, topic or schedule, and other entries name. */
export const configIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');
