import { devOAuthEnvSchema } from './dev-oauth-env.ts';
import { startDevOAuthServer } from './dev-oauth-server.ts';

// The dev OAuth server on its own (docker-compose.yml): development only, never an image's default.
const parsed = devOAuthEnvSchema.safeParse(process.env);
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  process.stderr.write(`dev-oauth: ${issue?.path.join('.')}: ${issue?.message}\n`);
  process.exit(1);
}
const env = parsed.data;
const server = await startDevOAuthServer({
  host: env.HOST,
  port: env.PORT,
  ...(env.DEV_OAUTH_ISSUER ? { issuer: env.DEV_OAUTH_ISSUER } : {}),
  audience: env.DEV_OAUTH_AUDIENCE,
  clients: env.DEV_OAUTH_CLIENTS,
});
process.stdout.write(
  `dev-oauth: issuer ${server.issuer}, token endpoint ${server.tokenEndpoint}, clients ${env.DEV_OAUTH_CLIENTS.map((c) => c.clientId).join(', ')}\n`,
);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => void server.close().then(() => process.exit(0)));
