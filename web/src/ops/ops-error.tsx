/**
 * A section's error, announced as it appears (`role="alert"`); nothing while `message` is
 * undefined.
 */
export function OpsError({ message, testId }: { message: string | undefined; testId?: string }) {
  if (message === undefined) return null;
  return (
    <p class="ops-error" role="alert" data-testid={testId}>
      {message}
    </p>
  );
}
