export {
  type DevOAuthClient,
  type DevOAuthServer,
  type DevOAuthServerOptions,
  startDevOAuthServer,
} from './dev-oauth-server.ts';
