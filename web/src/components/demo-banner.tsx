/** Shown whenever the selected model is the canned demo, so nobody mistakes it for a real model. */
export function DemoBanner() {
  return (
    <p class="demo-banner" data-testid="demo-banner" role="note">
      You are chatting with the demo model: its answers are canned. An operator configures a real
      model with <code>--model-path</code> or <code>--model-endpoint</code>.
    </p>
  );
}
