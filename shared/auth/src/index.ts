export { type BearerChallengeOptions, bearerChallenge } from './bearer-challenge.ts';
export { identityFromClaims } from './identity-from-claims.ts';
export { entraIssuer, type IssuerConfig } from './issuer-config.ts';
export {
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
  protectedResourceMetadata,
} from './protected-resource-metadata.ts';
export {
  createTokenVerifier,
  defaultAlgorithms,
  type TokenRejectionReason,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './token-verifier.ts';
