import { createHash } from 'node:crypto';
import { contentText } from '../content.js';
import type { ChatMessage } from '../types.js';

/**
 * Fingerprints of chat histories, so a follow-up turn finds the sequence that already holds its
 * earlier messages. Each fingerprint chains the previous one with the next message, so the
 * fingerprint of messages 0..k is one hash step from that of 0..k-1. It works the same for
 * `/v1/chat` (the dialog engine resends the stored history) and for stateless OpenAI clients
 * that resend the whole conversation.
 */
export function historyFingerprints(messages: readonly ChatMessage[]): string[] {
  const fingerprints: string[] = [];
  let previous = '';
  for (const message of messages) {
    previous = step(previous, message.role, contentText(message.content));
    fingerprints.push(previous);
  }
  return fingerprints;
}

/** The fingerprint of a history followed by the assistant's answer. */
export function withAnswer(previous: string, answer: string): string {
  return step(previous, 'assistant', answer);
}

/** Text only: the local engine sees only the text of a message, as `contentText` gives it. */
function step(previous: string, role: string, text: string): string {
  return createHash('sha256')
    .update(previous)
    .update('\u0000')
    .update(role)
    .update('\u0000')
    .update(text)
    .digest('base64url');
}
