/**
 * The dashboards' shell: sign in with an API key (kept in sessionStorage, sent as `x-api-key`), ask
 * the API who that is (`GET /v1/whoami`), then show the views of the caller's roles as tabs
 * (`#/<view id>`). Signing out forgets the key; a 401 on any call does too.
 */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, createApiClient } from "./api-client.ts";
import { createLive } from "./live.ts";
import type { Caller } from "./views/view-props.ts";
import { type ViewEntry, viewsFor } from "./views/view-registry.ts";

export const KEY_STORAGE = "stockline.apiKey";

const viewFromHash = (views: readonly ViewEntry[]): ViewEntry | undefined => {
  const id = location.hash.replace(/^#\/?/, "");
  return views.find((v) => v.id === id) ?? views[0];
};

function Login(props: { readonly onKey: (key: string) => void; readonly error: string | undefined }) {
  const [key, setKey] = useState("");
  return (
    <form
      class="login"
      data-testid="login"
      onSubmit={(e) => {
        e.preventDefault();
        if (key.trim()) props.onKey(key.trim());
      }}
    >
      <h1>stockline</h1>
      <label>
        API key
        <input
          type="password"
          name="api-key"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Sign in</button>
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
    </form>
  );
}

export function App() {
  const [key, setKey] = useState<string | undefined>(() => sessionStorage.getItem(KEY_STORAGE) ?? undefined);
  const [caller, setCaller] = useState<Caller | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [hash, setHash] = useState(location.hash);

  const signOut = useCallback((why?: string) => {
    sessionStorage.removeItem(KEY_STORAGE);
    setKey(undefined);
    setCaller(undefined);
    setError(why);
  }, []);

  const api = useMemo(
    () =>
      key ? createApiClient(key, () => signOut("the API key was refused (401): sign in again")) : undefined,
    [key, signOut],
  );
  const live = useMemo(() => (key ? createLive(key) : undefined), [key]);

  useEffect(() => {
    if (!api) return;
    api
      .get<Caller>("/v1/whoami")
      .then((c) => {
        sessionStorage.setItem(KEY_STORAGE, key!);
        setCaller(c);
        setError(undefined);
      })
      .catch((err: unknown) => signOut(err instanceof ApiError ? err.body.message : String(err)));
  }, [api, key, signOut]);

  useEffect(() => {
    const onHash = () => setHash(location.hash);
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  if (!api || !live) return <Login onKey={setKey} error={error} />;
  if (!caller) return <p class="loading">Signing in…</p>;

  const views = viewsFor(caller.roles);
  const current = hash === location.hash ? viewFromHash(views) : viewFromHash(views);
  return (
    <div class="shell">
      <header>
        <span class="brand">stockline</span>
        <nav>
          {views.map((v) => (
            <a
              key={v.id}
              href={`#/${v.id}`}
              data-testid={`nav-${v.id}`}
              class={v.id === current?.id ? "active" : undefined}
            >
              {v.title}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {caller.name} ({caller.roles.join(", ")})
        </span>
        <button type="button" data-testid="sign-out" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main>
        {current ? (
          <current.component key={current.id} api={api} live={live} caller={caller} />
        ) : (
          <p class="empty" data-testid="no-views">
            No dashboard is made for the roles of this key ({caller.roles.join(", ") || "none"}).
          </p>
        )}
      </main>
    </div>
  );
}
