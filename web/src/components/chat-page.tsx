import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client';
import { acceptsImages, demoModelId, initialModel } from '../api/models';
import { signOut } from '../api/session';
import type { Session } from '../api/types';
import { useChat } from '../hooks/use-chat';
import { useConversations } from '../hooks/use-conversations';
import { useImageAttachments } from '../hooks/use-image-attachments';
import { useModels } from '../hooks/use-models';
import type { Navigate } from '../hooks/use-hash-route';
import type { ThemeState } from '../hooks/use-theme';
import { contentParts, messageSizeProblem } from '../image-attachments';
import type { MessageState } from '../messages';
import type { Route } from '../route';
import { AppHeader } from './app-header';
import { ChatSettings, parseTemperature } from './chat-settings';
import { Composer } from './composer';
import { ConversationSidebar } from './conversation-sidebar';
import { DemoBanner } from './demo-banner';
import { CloseIcon } from './icons';
import { ImageAttachments } from './image-attachments';
import { MessageList } from './message-list';

export interface ChatPageProps {
  api: ApiClient;
  session: Session;
  theme: ThemeState;
  onSignedOut: () => void;
  /** Where the page is: a conversation's address (`#/c/<id>`) opens it. */
  route: Route;
  navigate: Navigate;
  /** Links to the other pages, in the header. */
  nav?: ComponentChildren;
  /**
   * Another page shown in place of the chat (Operations). The chat's state (an answer being
   * written, the draft, the open conversation) lives on underneath and is there on the way back.
   */
  replacement?: ComponentChildren;
}

/** Matches the stylesheet's breakpoint: below it the sidebar is a panel over the chat. */
const narrowQuery = '(max-width: 767px)';

/**
 * A stopped answer is stored by the server after it notices the disconnect, a moment after the
 * page stopped reading; the list is fetched again after this delay (ms) to show it.
 */
const stoppedRefreshDelay = 1000;

export function ChatPage(props: ChatPageProps) {
  const { api } = props;
  const replaced = props.replacement !== undefined;

  const models = useModels(api);
  const conversations = useConversations(api);
  const { refresh } = conversations;
  const { navigate } = props;
  const onTurnSettled = useCallback(
    (_conversationId: string | undefined, state: MessageState) => {
      refresh();
      if (state === 'stopped') window.setTimeout(refresh, stoppedRefreshDelay);
    },
    [refresh],
  );
  const onConversationStarted = useCallback(
    (conversationId: string, shown: boolean) => {
      // The new chat has an address now, in place of `#/chat`: a reload, or Back after opening
      // another conversation, comes back to it (also while its first answer is being written).
      if (shown) navigate({ page: 'chat', conversationId }, { replace: true });
    },
    [navigate],
  );
  const chat = useChat(api, { onTurnSettled, onConversationStarted });

  const [draft, setDraft] = useState('');
  const attachments = useImageAttachments();
  const [temperature, setTemperature] = useState('');
  const [formError, setFormError] = useState<string | undefined>(undefined);
  // Why the page shows a new chat instead of the conversation its address named.
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const [signOutError, setSignOutError] = useState<string | undefined>(undefined);
  const [focusSignal, setFocusSignal] = useState(0);
  const focusComposer = () => setFocusSignal((value) => value + 1);

  const temperatureValue = parseTemperature(temperature);
  const showDemoBanner = models.selected === demoModelId;
  const error = formError ?? chat.error;
  const imagesAccepted = acceptsImages(models.models, models.selected);
  // Images stay attached when the model changes (switching back sends them), but a model
  // without image support cannot take them: Send waits, and says why.
  const imagesBlocked =
    attachments.images.length > 0 && !imagesAccepted
      ? `${models.selected ?? 'This model'} does not accept images: remove them, or choose a model that does.`
      : undefined;

  useEffect(() => {
    if (replaced) setSidebarOpen(false);
  }, [replaced]);

  useEffect(() => {
    if (!sidebarOpen) return;
    // The sidebar panel is for the narrow layout; widening the window puts it back in place.
    const query = window.matchMedia(narrowQuery);
    const close = () => {
      if (!query.matches) setSidebarOpen(false);
    };
    query.addEventListener('change', close);
    return () => query.removeEventListener('change', close);
  }, [sidebarOpen]);

  function closeSidebar(returnFocus: boolean) {
    setSidebarOpen(false);
    if (returnFocus) document.getElementById('sidebar-toggle')?.focus();
  }

  function afterNavigation() {
    if (window.matchMedia(narrowQuery).matches) {
      setSidebarOpen(false);
      focusComposer();
    }
  }

  const routeConversation = props.route.page === 'chat' ? props.route.conversationId : undefined;
  const onChat = props.route.page === 'chat';
  // The address leads: a conversation's (a link, a reload, Back or Forward) opens it, `#/chat` is
  // a new chat. The Operations pages leave the chat as it is underneath.
  useEffect(() => {
    if (!onChat || routeConversation === chat.conversationId) return;
    if (routeConversation === undefined) showNewChat();
    else void openConversation(routeConversation);
  }, [onChat, routeConversation]);

  async function openConversation(id: string) {
    setFormError(undefined);
    setNotice(undefined);
    const conversation = await chat.open(id);
    if (conversation === 'not-found') {
      showNewChat();
      setNotice('That conversation no longer exists (or is not yours): this is a new chat.');
      navigate({ page: 'chat' }, { replace: true });
      return;
    }
    // Before the model list arrives (a reload on the address) too: the list keeps the choice.
    if (
      conversation !== undefined &&
      (models.models.length === 0 || models.models.some((model) => model.id === conversation.model))
    ) {
      models.select(conversation.model);
    }
  }

  function select(id: string) {
    afterNavigation();
    if (routeConversation === id) void openConversation(id);
    else navigate({ page: 'chat', conversationId: id });
  }

  function showNewChat() {
    setFormError(undefined);
    setNotice(undefined);
    chat.startNew();
    const model = initialModel(models.models);
    if (model !== undefined) models.select(model);
  }

  function newChat() {
    showNewChat();
    navigate({ page: 'chat' });
    setSidebarOpen(false);
    focusComposer();
  }

  async function send() {
    const text = draft.trim();
    const images = attachments.images;
    if ((text === '' && images.length === 0) || chat.generating || imagesBlocked) return;
    if (temperatureValue === null) {
      setFormError('Temperature must be a number from 0 to 2, or empty for the model’s default.');
      return;
    }
    const tooLarge = messageSizeProblem(text, images);
    if (tooLarge !== undefined) {
      attachments.setError(tooLarge);
      return;
    }
    setFormError(undefined);
    setNotice(undefined);
    attachments.setError(undefined);
    setDraft('');
    attachments.take();
    const result = await chat.send(
      contentParts(text, images),
      { model: models.selected, temperature: temperatureValue },
      images.map((image) => image.name),
    );
    // Refused before anything was stored: give the text and images back, unless a new draft
    // was started.
    if (result === 'refused') {
      setDraft((current) => (current === '' ? text : current));
      attachments.restore(images);
    }
  }

  async function doSignOut() {
    setSigningOut(true);
    chat.stop();
    try {
      await signOut(api.csrfToken());
    } catch (error) {
      // The server clears the cookie whatever else fails; only no answer at all leaves it.
      setSigningOut(false);
      setSignOutError(
        `Signing out failed (${error instanceof Error ? error.message : String(error)}): this browser may still be signed in. Try again.`,
      );
      return;
    }
    props.onSignedOut();
  }

  return (
    <div class="app-shell">
      {replaced ? (
        <a class="skip-link" href="#ops-main">
          Skip to the content
        </a>
      ) : (
        <a class="skip-link" href="#composer-input">
          Skip to the message box
        </a>
      )}
      <AppHeader
        session={props.session}
        theme={props.theme}
        nav={props.nav}
        showSidebarToggle={!replaced}
        sidebarOpen={sidebarOpen}
        onToggleSidebar={() => setSidebarOpen((open) => !open)}
        onSignOut={() => void doSignOut()}
        signingOut={signingOut}
      />
      {signOutError !== undefined && (
        <p class="notice" role="alert" data-testid="sign-out-error">
          {signOutError}
        </p>
      )}
      {replaced ? (
        <div class="app-body">{props.replacement}</div>
      ) : (
        <div class="app-body">
          <ConversationSidebar
            conversations={conversations}
            activeId={chat.conversationId}
            open={sidebarOpen}
            onClose={() => closeSidebar(true)}
            onNewChat={newChat}
            onSelect={select}
            onDeleted={(id) => {
              chat.stopIn(id);
              if (id !== chat.conversationId) return;
              showNewChat();
              navigate({ page: 'chat' }, { replace: true });
            }}
          />
          {sidebarOpen && <div class="sidebar-backdrop" onClick={() => closeSidebar(false)} />}
          <main class="chat" id="chat">
            {showDemoBanner && <DemoBanner />}
            {models.error !== undefined && <p class="notice">{models.error}</p>}
            {notice !== undefined && (
              <p class="notice" role="status" data-testid="chat-notice">
                {notice}
              </p>
            )}
            <MessageList
              messages={chat.messages}
              loading={chat.loading}
              hasOlder={chat.hasOlder}
              loadingOlder={chat.loadingOlder}
              onLoadOlder={() => void chat.loadOlder()}
            />
            <div class="chat-error-region" aria-live="assertive">
              {error !== undefined && (
                <p class="chat-error" data-testid="chat-error">
                  <span>{error}</span>
                  <button
                    type="button"
                    class="button button--small button--quiet"
                    aria-label="Dismiss the error"
                    onClick={() => {
                      setFormError(undefined);
                      chat.dismissError();
                    }}
                  >
                    <CloseIcon />
                  </button>
                </p>
              )}
            </div>
            <p class="visually-hidden" role="status">
              {chat.status}
            </p>
            <Composer
              draft={draft}
              onDraftChange={setDraft}
              generating={chat.generating}
              onSend={() => void send()}
              onStop={chat.stop}
              focusSignal={focusSignal}
              hasImages={attachments.images.length > 0}
              sendBlocked={imagesBlocked}
              attachments={
                <ImageAttachments
                  images={attachments.images}
                  canAttach={imagesAccepted}
                  error={attachments.error}
                  blockedReason={imagesBlocked}
                  onFiles={(files) => void attachments.add(files, draft.trim())}
                  onRemove={attachments.remove}
                />
              }
            >
              <ChatSettings
                models={models.models}
                model={models.selected}
                onModelChange={models.select}
                temperature={temperature}
                onTemperatureChange={setTemperature}
                temperatureInvalid={temperatureValue === null}
              />
            </Composer>
          </main>
        </div>
      )}
    </div>
  );
}
