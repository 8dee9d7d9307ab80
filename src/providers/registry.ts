import { AppError } from '../errors.js';
import type { ChatModel, ModelHealth } from './types.js';

export interface ModelListing {
  id: string;
  provider: string;
  available: boolean;
  isDefault: boolean;
  description: string | undefined;
  /** Whether the model accepts `image_url` content parts (its declared capabilities). */
  images: boolean;
  /** Whether it takes `tools` (function calling). */
  tools: boolean;
  /** Whether it takes `response_format` `json_object` / `json_schema`. */
  jsonOutput: boolean;
}

/** The models this server offers, by id, and which one a request without `model` gets. */
export class ModelRegistry {
  private readonly models = new Map<string, ChatModel>();
  readonly defaultId: string | undefined;

  constructor(models: readonly ChatModel[], defaultId: string | undefined) {
    for (const model of models) this.models.set(model.id, model);
    this.defaultId = defaultId;
  }

  /**
   * Every configured model is listed; available unless it can never serve (a local model whose
   * load failed). A loading one is available: it answers 503 with Retry-After until loaded.
   */
  list(): ModelListing[] {
    return [...this.models.values()].map((model) => ({
      id: model.id,
      provider: model.provider,
      available: model.unavailable === undefined,
      isDefault: model.id === this.defaultId,
      description: model.description,
      images: model.capabilities.images,
      tools: model.capabilities.tools === true,
      jsonOutput: model.capabilities.jsonOutput === true,
    }));
  }

  /** Every registered model. */
  all(): ChatModel[] {
    return [...this.models.values()];
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
    const model = this.models.get(this.defaultId);
    return model ? model.check(signal) : { ok: false, reason: 'the default model is missing' };
  }

  async close(): Promise<void> {
    await Promise.all([...this.models.values()].map((model) => model.close()));
  }
}
