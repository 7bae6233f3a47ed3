/**
 * The governance evaluator: every interval it evaluates each tenant's budgets and stop-loss
 * rules (configuration folded from the config topic, facts from the served projection), records
 * the alerts decided (alerts.ts) in ClickHouse, publishes them to the alerts topic keyed by
 * alert id, and delivers them to the tenant's webhooks.
 *
 * Order of writes, so that a crash anywhere resends nothing twice and loses nothing:
 * 1. the alert's deliveries (pending), 2. the alert (published = 0): from here on its id is
 *    "sent" and never decided again, 3. the alerts topic, 4. the alert again with published = 1.
 *    A restart republishes alerts still at published = 0 (same key: the topic may hold a
 *    duplicate message after a crash between 3 and 4; consumers de-duplicate by alert id).
 * Deliveries: a pending one is POSTed when due; 2xx marks it delivered (never sent again), any
 * other answer or a network error schedules the next attempt with backoff and jitter (webhook.ts).
 * Windows and budget periods are evaluated at `clock.now()` (injectable for tests); record and
 * delivery times are wall-clock.
 * One evaluator per deployment: passes never overlap in a process, but two processes could both
 * POST the same pending delivery. With several api instances, leave API_GOVERNANCE_EVALUATOR
 * true on one of them only (alert ids would still not duplicate; webhook deliveries could).
 */
import { assertTopicsExist, createIdempotentProducer, registerAvroSchemas, valueSubject, type Logger, type Projections, type SchemaRegistry } from '@tokenledger/infra';
import { alertEventAvro, topics, type AlertEvent } from '@tokenledger/schemas';
import type { Kafka, Producer } from 'kafkajs';
import { budgetConditions, decideAlerts, stopLossCondition, type RuleCondition } from './alerts.js';
import { budgetStatuses } from './budgets.js';
import { evaluateStopLoss, stopLossWindow } from './stop-loss.js';
import type { Delivery, GovernanceStore } from './store.js';
import { ALERT_ID_HEADER, retryDelayMs, signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookWants } from './webhook.js';
import type { GovernanceConfigs } from './types.js';
import type { GovernanceMetrics } from './metrics.js';

export interface EvaluatorOptions {
  intervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long one webhook POST may take. */
  deliveryTimeoutMs: number;
}

export interface EvaluatorDeps {
  kafka: Kafka;
  registry: SchemaRegistry;
  store: GovernanceStore;
  configs: GovernanceConfigs;
  projections: Projections;
  logger: Logger;
  clock: { now(): number };
  metrics: GovernanceMetrics;
}

export class GovernanceEvaluator {
  private producer: Producer | undefined;
  private schemaId = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  lastTickAt = 0;
  /** The projection the last pass read; 0 before the first. */
  lastProjection = 0;

  constructor(private readonly deps: EvaluatorDeps, private readonly o: EvaluatorOptions) {}

  async start(): Promise<void> {
    const admin = this.deps.kafka.admin();
    await admin.connect();
    await assertTopicsExist(admin, [topics.alerts]).finally(() => admin.disconnect());
    const subject = valueSubject(topics.alerts);
    this.schemaId = (await registerAvroSchemas(this.deps.registry, [{ subject, schema: alertEventAvro }])).get(subject)!;
    this.producer = createIdempotentProducer(this.deps.kafka);
    await this.producer.connect();
    this.lastTickAt = Date.now();
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.producer?.disconnect();
  }

  /** Healthy while ticks keep coming (three intervals of slack). */
  get isHealthy(): boolean {
    return !this.stopped && Date.now() - this.lastTickAt < 3 * this.o.intervalMs + 30_000;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: unknown) => this.deps.logger.error({ event: 'governance_tick_failed', err: error }, 'governance evaluation failed; retrying next tick'))
        .finally(() => this.schedule(this.o.intervalMs));
    }, delayMs);
  }

  /** One pass: evaluate, record, publish, deliver. Passes never overlap (a delivery must not be POSTed by two). */
  tick(): Promise<void> {
    const pass = this.chain.then(() => this.pass());
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<void> {
    const endTimer = this.deps.metrics.passSeconds.startTimer();
    try {
      await this.evaluate();
      this.deps.metrics.passes.inc({ result: 'ok' });
    } catch (error) {
      this.deps.metrics.passes.inc({ result: 'failed' });
      throw error;
    } finally {
      endTimer();
    }
  }

  private async evaluate(): Promise<void> {
    const { store, configs, metrics } = this.deps;
    const projection = this.deps.projections.served();
    const now = this.deps.clock.now();
    for (const tenant of configs.tenants()) {
      const config = configs.tenant(tenant);
      if (config.budgets.size === 0 && config.stopLossRules.size === 0) continue;
      const conditions: RuleCondition[] = [];
      for (const { budget, status } of await budgetStatuses(store, config, projection, now)) conditions.push(...budgetConditions(budget, status));
      for (const [id, rule] of config.stopLossRules) {
        const window = stopLossWindow(rule, now);
        const sums = await store.windowSums(tenant, projection, rule.scope, window.from, window.to);
        conditions.push(stopLossCondition(id, rule, window, evaluateStopLoss(rule, sums)));
      }
      const candidates = decideAlerts(tenant, conditions, await store.lastTransitions(tenant), new Set(), Date.now());
      const sent = await store.existingAlertIds(tenant, candidates.map((a) => a.alert_id));
      const alerts = candidates.filter((a) => !sent.has(a.alert_id));
      if (alerts.length === 0) continue;
      const deliveries: Delivery[] = alerts.flatMap((alert) => [...config.webhooks]
        .filter(([, webhook]) => webhookWants(webhook, alert))
        .map(([webhookId]) => ({
          tenant_id: tenant, alert_id: alert.alert_id, webhook_id: webhookId, state: 'pending' as const, attempts: 0,
          nextAttemptAt: Date.now(), last_status: 0, last_error: '', deliveredAt: null,
        })));
      await store.writeDeliveries(deliveries);
      await store.insertAlerts(alerts, false);
      for (const a of alerts) metrics.alertsDecided.inc({ transition: a.transition });
      for (const a of alerts) this.deps.logger.info({ event: 'alert_decided', tenant, alert_id: a.alert_id, rule_id: a.rule_id, transition: a.transition }, a.message);
    }
    await this.publishPending();
    await this.deliverDue();
    this.lastTickAt = Date.now();
    this.lastProjection = projection;
    metrics.evaluatedProjection.set(projection);
    metrics.lastPassTimestamp.set(this.lastTickAt / 1_000);
  }

  private async publishPending(): Promise<void> {
    const pending = await this.deps.store.unpublishedAlerts();
    if (pending.length === 0 || !this.producer) return;
    const messages = await Promise.all(pending.map(async (a) => ({ key: a.alert_id, value: await this.deps.registry.encode(this.schemaId, a) })));
    await this.producer.send({ topic: topics.alerts, acks: -1, messages });
    await this.deps.store.insertAlerts(pending, true);
    this.deps.metrics.alertsPublished.inc(pending.length);
  }

  private async deliverDue(): Promise<void> {
    const due = await this.deps.store.dueDeliveries(Date.now());
    const results = await Promise.all(due.map(({ delivery, alert }) => this.deliver(delivery, alert)));
    await this.deps.store.writeDeliveries(results);
    for (const r of results) {
      const result = r.state !== 'delivered' ? 'failed' : r.deliveredAt === null ? 'dropped' : 'delivered';
      this.deps.metrics.deliveries.inc({ result });
    }
  }

  private async deliver(delivery: Delivery, alert: AlertEvent): Promise<Delivery> {
    const webhook = this.deps.configs.tenant(delivery.tenant_id).webhooks.get(delivery.webhook_id);
    const attempts = delivery.attempts + 1;
    if (!webhook) {
      // Removed since: there is nowhere to deliver. Kept as delivered with the reason, not retried.
      return { ...delivery, attempts, state: 'delivered', last_error: 'webhook removed', deliveredAt: null };
    }
    const body = JSON.stringify(alert);
    const timestamp = Math.floor(Date.now() / 1_000);
    let status = 0;
    let error = '';
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(webhook.secret, timestamp, body),
          [TIMESTAMP_HEADER]: String(timestamp), [ALERT_ID_HEADER]: alert.alert_id,
        },
        body,
        signal: AbortSignal.timeout(this.o.deliveryTimeoutMs),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (status >= 200 && status < 300) {
      this.deps.logger.info({ event: 'alert_delivered', alert_id: alert.alert_id, webhook_id: delivery.webhook_id, attempts }, 'alert delivered');
      return { ...delivery, attempts, state: 'delivered', last_status: status, last_error: '', deliveredAt: Date.now() };
    }
    const delay = retryDelayMs(attempts, this.o.retryBaseMs, this.o.retryMaxMs);
    this.deps.logger.warn({ event: 'alert_delivery_failed', alert_id: alert.alert_id, webhook_id: delivery.webhook_id, attempts, status, error, retry_in_ms: delay }, 'alert delivery failed; will retry');
    return { ...delivery, attempts, last_status: status, last_error: error || `HTTP ${status}`, nextAttemptAt: Date.now() + delay };
  }
}
