export { type ContainerName, containerDefinitions, containerNames } from './container-definitions.ts';
export { type EmbeddedCosmos, startEmbeddedCosmos } from './embedded-cosmos.ts';
export { createStore, type Store, type StoreOptions } from './store.ts';
export { storeEnvShape, storeOptionsFromEnv } from './store-env.ts';
