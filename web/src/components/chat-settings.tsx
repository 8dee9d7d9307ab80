import type { ModelInfo } from '../api/types';

export interface ChatSettingsProps {
  models: ModelInfo[];
  model: string | undefined;
  onModelChange: (id: string) => void;
  /** As typed; empty means the model's default. */
  temperature: string;
  onTemperatureChange: (value: string) => void;
  temperatureInvalid: boolean;
}

/** The model and temperature the next message is sent with. */
export function ChatSettings(props: ChatSettingsProps) {
  return (
    <div class="chat-settings">
      <label class="setting">
        <span class="setting-label">Model</span>
        <select
          class="select"
          data-testid="model-select"
          value={props.model ?? ''}
          disabled={props.models.length === 0}
          onChange={(event) => props.onModelChange(event.currentTarget.value)}
        >
          {props.models.length === 0 && <option value="">Server default</option>}
          {props.models.map((model) => (
            <option key={model.id} value={model.id} disabled={model.available === false}>
              {model.available === false ? `${model.id} (unavailable)` : model.id}
            </option>
          ))}
        </select>
      </label>
      <label class="setting">
        <span class="setting-label">Temperature</span>
        <input
          class="text-input text-input--small temperature-input"
          type="number"
          data-testid="temperature"
          min={0}
          max={2}
          step={0.1}
          inputMode="decimal"
          placeholder="default"
          value={props.temperature}
          aria-invalid={props.temperatureInvalid}
          aria-describedby="temperature-hint"
          onInput={(event) => props.onTemperatureChange(event.currentTarget.value)}
        />
        <span id="temperature-hint" class="visually-hidden">
          From 0 to 2; empty uses the model’s default.
        </span>
      </label>
    </div>
  );
}

/** Empty is "the model's default" (undefined); anything outside 0–2 is invalid (null). */
export function parseTemperature(value: string): number | undefined | null {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const number = Number(trimmed);
  return Number.isFinite(number) && number >= 0 && number <= 2 ? number : null;
}
