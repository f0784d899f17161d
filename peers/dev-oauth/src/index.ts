export { type DevOAuthEnv, devOAuthEnvSchema } from './dev-oauth-env.ts';
export {
  type DevOAuthClient,
  type DevOAuthServer,
  type DevOAuthServerOptions,
  startDevOAuthServer,
} from './dev-oauth-server.ts';
