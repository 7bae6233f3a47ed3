import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@tokenledger/infra';
import type { Route } from '../route.js';
import { capitalizationRoute } from './capitalization.js';
import { configRoutes } from './config.js';
import { focusExportRoute } from './export-focus.js';
import { governanceRoutes, type GovernanceRouteDeps } from './governance.js';
import { marginalUtilityRoute } from './marginal-utility.js';
import { replayRoutes, type StartReplay } from './replay.js';
import { runRoute } from './runs.js';
import { spendRoute } from './spend.js';
import { topRunsRoute } from './top-runs.js';
import { unitEconomicsRoute } from './unit-economics.js';
import { wasteRoute } from './waste.js';

/** Every endpoint of the api, in the order the OpenAPI document lists them. */
export function apiRoutes(kafka: Kafka, registry: SchemaRegistry, governance: GovernanceRouteDeps, startReplay?: StartReplay): Route[] {
  return [
    spendRoute,
    unitEconomicsRoute,
    marginalUtilityRoute,
    wasteRoute,
    capitalizationRoute,
    topRunsRoute,
    runRoute,
    focusExportRoute,
    ...governanceRoutes(governance),
    ...configRoutes(kafka, registry),
    // Replays run where the attributor's code is: hosts that have it pass `startReplay`.
    ...(startReplay ? replayRoutes(startReplay) : []),
  ];
}
