// The session: the token in memory, and in sessionStorage so a reload keeps it (never a
// cookie). Its claims say who is logged in and with which role; its expiry ends the session,
// which brings the login back over whatever view is on screen.

const STORAGE_KEY = "kwanje.token";

export type Role = "admin" | "operator" | "viewer" | "client" | "driver";

export interface Claims {
  sub: string;
  role: Role;
  exp: number;
}

/** The claims of a JWT, unchecked (the server checks it; the console only reads them). */
export function decodeClaims(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as Partial<Claims>;
    if (typeof claims.sub !== "string" || typeof claims.role !== "string" || typeof claims.exp !== "number") {
      return null;
    }
    return claims as Claims;
  } catch {
    return null;
  }
}

/** Operators and admins may act; viewers watch. */
export function mayAct(role: Role | undefined): boolean {
  return role === "operator" || role === "admin";
}

type Listener = () => void;

export class Session {
  private token: string | null = null;
  private claims: Claims | null = null;
  private expiry: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<Listener>();

  constructor() {
    const kept = sessionStorage.getItem(STORAGE_KEY);
    if (kept) this.set(kept);
  }

  get current(): { token: string; claims: Claims } | null {
    return this.token && this.claims ? { token: this.token, claims: this.claims } : null;
  }

  tokenValue(): string | null {
    return this.token;
  }

  /** Starts a session with a token (after login), or ends it when the token is unusable. */
  set(token: string): void {
    const claims = decodeClaims(token);
    if (!claims || claims.exp * 1000 <= Date.now()) {
      this.end();
      return;
    }
    this.token = token;
    this.claims = claims;
    sessionStorage.setItem(STORAGE_KEY, token);
    clearTimeout(this.expiry);
    // setTimeout's delay is at most 2^31-1 ms (about 24.8 days).
    const left = Math.min(claims.exp * 1000 - Date.now(), 2 ** 31 - 1);
    this.expiry = setTimeout(() => this.end(), left);
    this.notify();
  }

  end(): void {
    const had = this.token !== null;
    this.token = null;
    this.claims = null;
    sessionStorage.removeItem(STORAGE_KEY);
    clearTimeout(this.expiry);
    if (had) this.notify();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
