import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@tokenledger/infra';
import type { Route } from '../route.js';
import { configRoutes } from './config.js';
import { spendRoute } from './spend.js';

/** Every endpoint of the api, in the order the OpenAPI document lists them. */
export function apiRoutes(kafka: Kafka, registry: SchemaRegistry): Route[] {
  return [spendRoute, ...configRoutes(kafka, registry)];
}
