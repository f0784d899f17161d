import { z } from 'zod';

/** A client of the dev OAuth server as its environment names it: `id:secret:Role1,Role2`. */
const clientEntry = z
  .string()
  .regex(/^[\w.-]+:[^:\s]+:[\w.,-]*$/, 'each client is id:secret:Role1,Role2')
  .transform((entry) => {
    const [clientId = '', clientSecret = '', roles = ''] = entry.split(':');
    return { clientId, clientSecret, roles: roles.split(',').filter(Boolean) };
  });

/** The standalone dev OAuth server's settings (`node peers/dev-oauth/src/main.ts`, docker-compose.yml). */
export const devOAuthEnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  /** The issuer clients and verifiers see, e.g. http://dev-oauth:3100 inside a Compose network. */
  DEV_OAUTH_ISSUER: z.url().optional(),
  /** The `aud` of every token (the MCP server's MCP_RESOURCE). */
  DEV_OAUTH_AUDIENCE: z.string().min(1).default('api://mcp-broker'),
  /** Space-separated `id:secret:Role1,Role2` entries; the secrets come from the environment (.env), never a file in the repository. */
  DEV_OAUTH_CLIENTS: z
    .string()
    .min(1)
    .transform((value, ctx) => {
      const clients = [];
      for (const entry of value.trim().split(/\s+/)) {
        const parsed = clientEntry.safeParse(entry);
        if (!parsed.success) {
          ctx.addIssue({
            code: 'custom',
            message: `each client is id:secret:Role1,Role2 (got an entry starting "${entry.split(':')[0]}")`,
          });
          return z.NEVER;
        }
        clients.push(parsed.data);
      }
      return clients;
    }),
});
export type DevOAuthEnv = z.infer<typeof devOAuthEnvSchema>;
