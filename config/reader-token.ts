// The token peers' istiod use to read this cluster (multi-cluster service discovery): a short-lived
// TokenRequest token for one dedicated service account, minted by the deploy pipeline
// (`kubectl create token ... --duration`) and given as the secret config key `meshReaderToken`.
// Only its claims are read here (never its signature: the API server checks that); a token of
// another account, a non-expiring one, or one that outlives MAX_LIFETIME_HOURS is refused.

/** The service account the program creates for peers' istiod, with a ClusterRole of its own. */
export const MESH_READER = { namespace: "istio-system", serviceAccount: "istio-remote-reader" } as const;

/** Longest lifetime accepted (the deploy pipeline mints 7-day tokens and deploys at least weekly). */
export const MAX_READER_TOKEN_HOURS = 7 * 24;

export interface TokenClaims {
    sub?: unknown;
    exp?: unknown;
    iat?: unknown;
}

/** The claims of a JWT (payload only), or undefined when the text is not a JWT. */
export function jwtClaims(token: string): TokenClaims | undefined {
    const parts = token.trim().split(".");
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return undefined;
    try {
        const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
        return typeof claims === "object" && claims !== null ? claims : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Why a reader token is not acceptable (never quoting it), or undefined. `nowSeconds` is the
 * current time in seconds since the epoch.
 */
export function readerTokenProblem(token: unknown, nowSeconds: number): string | undefined {
    if (typeof token !== "string" || token === "") return "expected the token text";
    const claims = jwtClaims(token);
    if (!claims) return "expected a Kubernetes service account token (a JWT from kubectl create token)";
    const subject = `system:serviceaccount:${MESH_READER.namespace}:${MESH_READER.serviceAccount}`;
    if (claims.sub !== subject)
        return `expected a token of ${subject} (the account peers read this cluster with), not of another account`;
    if (typeof claims.exp !== "number" || typeof claims.iat !== "number")
        return "expected a token that expires (kubectl create token --duration); legacy Secret-based tokens never do";
    const hours = (claims.exp - claims.iat) / 3600;
    if (hours > MAX_READER_TOKEN_HOURS + 1)
        return `expected a lifetime of at most ${MAX_READER_TOKEN_HOURS}h, got ${Math.round(hours)}h: mint it with --duration=${MAX_READER_TOKEN_HOURS}h or less`;
    if (claims.exp <= nowSeconds)
        return "the token has expired; mint a new one (the deploy workflow does this before every pulumi up)";
    return undefined;
}
