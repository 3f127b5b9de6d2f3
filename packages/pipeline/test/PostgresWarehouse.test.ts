import { freshTenant, testTenantLayer } from "./support/TestLayers.js"
import { warehouseContract } from "./support/WarehouseContract.js"

warehouseContract("PostgreSQL", () => testTenantLayer(freshTenant("wh")))
