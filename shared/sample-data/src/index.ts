export {
  type CustomerRecords,
  generateCustomerRecords,
  isKeyAccount,
  KEY_ACCOUNT_EVERY,
  MAX_CUSTOMERS,
  SAMPLE_DATA_REFERENCE_DATE,
} from './generate-customer-records.ts';
export {
  DEFAULT_CUSTOMERS,
  DEFAULT_SEED,
  generateSampleData,
  iterateCustomerRecords,
  type SampleData,
  type SampleDataOptions,
} from './generate-sample-data.ts';
export {
  type LoadProgress,
  type LoadSampleDataOptions,
  loadSampleData,
  type SampleDataCounts,
} from './load-sample-data.ts';
export { productCatalogue, productCategories } from './product-catalogue.ts';
export {
  type Account,
  accountSchema,
  accountTiers,
  type Customer,
  casePriorities,
  caseSchema,
  caseStatuses,
  closedOpportunityStages,
  customerSchema,
  type Opportunity,
  type Order,
  type OrderLine,
  opportunitySchema,
  opportunityStages,
  orderLineSchema,
  orderSchema,
  type Product,
  productSchema,
  type Region,
  regionSchema,
  regions,
  type Segment,
  type SupportCase,
  segmentSchema,
  segments,
} from './schemas.ts';
export { createSeededRandom, deriveSeed, type SeededRandom } from './seeded-random.ts';
