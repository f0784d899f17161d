import type { Product } from './schemas.ts';

// [name, list price in USD]; fixed so product ids, names and prices never depend on the seed.
const catalogue: Record<string, [string, number][]> = {
  analytics: [
    ['Insight Dashboards', 1200],
    ['Forecast Engine', 4800],
    ['Data Lake Connector', 950],
    ['Customer 360 Analytics', 3600],
    ['Embedded Reports', 640],
    ['Anomaly Detector', 2250],
  ],
  security: [
    ['Identity Guard', 1800],
    ['Endpoint Shield', 85],
    ['Threat Monitor', 5400],
    ['Key Vault Pro', 720],
    ['Audit Trail', 1350],
    ['Zero Trust Gateway', 6900],
  ],
  infrastructure: [
    ['Compute Node XL', 8200],
    ['Storage Array 40TB', 15500],
    ['Edge Router', 2900],
    ['Backup Appliance', 7400],
    ['Load Balancer', 3800],
    ['GPU Accelerator', 12900],
  ],
  collaboration: [
    ['Team Chat Seats', 48],
    ['Video Rooms', 2400],
    ['Document Hub', 36],
    ['Whiteboard Suite', 22],
    ['Contact Center Seat', 110],
    ['Workflow Automation', 1600],
  ],
  services: [
    ['Implementation Package', 25000],
    ['Premium Support Year', 9500],
    ['Training Day', 3200],
    ['Architecture Review', 12000],
    ['Managed Operations Month', 6500],
    ['Migration Sprint', 18000],
  ],
};

/** The fixed product catalogue: 30 products, 6 in each of 5 categories, ids prd-0001…prd-0030. */
export const productCatalogue: readonly Product[] = Object.freeze(
  Object.entries(catalogue)
    .flatMap(([category, products]) => products.map(([name, listPrice]) => ({ name, category, listPrice })))
    .map(({ name, category, listPrice }, i) =>
      Object.freeze({ id: `prd-${String(i + 1).padStart(4, '0')}`, name, category, listPrice }),
    ),
);

/** Category names of the catalogue, in catalogue order. */
export const productCategories: readonly string[] = Object.freeze(Object.keys(catalogue));
