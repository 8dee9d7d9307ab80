import { AppError } from '../errors.js';
import type { ChatModel, ModelHealth } from './types.js';

/** A configured model that cannot serve, with the reason shown to callers. */
export interface UnavailableModel {
  id: string;
  provider: string;
  reason: string;
}

export interface ModelListing {
  id: string;
  provider: string;
  available: boolean;
  isDefault: boolean;
  description: string | undefined;
}

/** The models this server offers, by id, and which one a request without `model` gets. */
export class ModelRegistry {
  private readonly models = new Map<string, ChatModel>();
  private readonly unavailable = new Map<string, UnavailableModel>();
  readonly defaultId: string | undefined;

  constructor(
    models: readonly ChatModel[],
    unavailable: readonly UnavailableModel[],
    defaultId: string | undefined,
  ) {
    for (const model of models) this.models.set(model.id, model);
    for (const entry of unavailable) this.unavailable.set(entry.id, entry);
    this.defaultId = defaultId;
  }

  list(): ModelListing[] {
    const listing = (
      id: string,
      provider: string,
      available: boolean,
      description?: string,
    ): ModelListing => ({
      id,
      provider,
      available,
      isDefault: id === this.defaultId,
      description,
    });
    return [
      ...[...this.models.values()].map((model) =>
        listing(model.id, model.provider, true, model.description),
      ),
      ...[...this.unavailable.values()].map((entry) => listing(entry.id, entry.provider, false)),
    ];
  }

  /** Whether `id` names a model that can serve now. */
  isAvailable(id: string): boolean {
    return this.models.has(id);
  }

  /** The model a request asked for, or the default; throws the right `AppError` otherwise. */
  resolve(id: string | undefined): ChatModel {
    const wanted = id ?? this.defaultId;
    if (wanted === undefined) throw new AppError('model_not_configured');
    const model = this.models.get(wanted);
    if (model) return model;
    const unavailable = this.unavailable.get(wanted);
    if (unavailable) {
      throw new AppError(
        'model_unavailable',
        `Model "${wanted}" cannot serve: ${unavailable.reason}`,
      );
    }
    throw new AppError(
      'model_not_found',
      `No model "${wanted}" is configured; GET /v1/models lists the models.`,
      {
        param: 'model',
      },
    );
  }

  /** Readiness of the default model. */
  async check(signal: AbortSignal): Promise<ModelHealth> {
    if (this.defaultId === undefined) return { ok: false, reason: 'no model is configured' };
    const unavailable = this.unavailable.get(this.defaultId);
    if (unavailable) return { ok: false, reason: unavailable.reason };
    const model = this.models.get(this.defaultId);
    return model ? model.check(signal) : { ok: false, reason: 'the default model is missing' };
  }

  async close(): Promise<void> {
    await Promise.all([...this.models.values()].map((model) => model.close()));
  }
}
