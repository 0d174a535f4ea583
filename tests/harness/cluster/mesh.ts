// What Istio does with the mesh objects a stack sends, for one request: how the caller's sidecar
// routes it (by the Host/authority it carries for HTTP, by address for TCP), whether it leaves
// as mTLS or plain text (DestinationRule TLS mode, else auto mTLS towards a pod with a proxy),
// what the destination's sidecar accepts (PeerAuthentication: workload port > workload > namespace
// > mesh-wide in istio-system; PERMISSIVE when nothing says), which user tokens it validates
// (RequestAuthentication) and which requests it authorises (AuthorizationPolicy: any matching DENY
// refuses; once an ALLOW policy applies, some ALLOW rule must match; `spec: {}` allows nothing).
import { createPublicKey } from "node:crypto";
import { selectorMatches } from "../../../policy/rules";
import type { K8sObject } from "../k8s";
import type { ClusterView, Pod } from "./view";

const ROOT_NAMESPACE = "istio-system";
/** Ports the proxy serves itself (stats, health, merged metrics): no inbound mTLS or authorisation applies. */
export const PROXY_OWN_PORTS = [15020, 15021, 15090];

export const fqdn = (service: K8sObject) => `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;

/** The service port's protocol as Istio reads it (port name prefix or appProtocol); "auto" = sniffed. */
export function portProtocol(servicePort: any): "http" | "tcp" | "auto" {
    const p = String(servicePort.appProtocol ?? servicePort.name ?? "").toLowerCase();
    if (/^(http|http2|grpc|grpc-web)($|-)/.test(p)) return "http";
    if (/^(tcp|tls|mongo|mysql|redis)($|-)/.test(p)) return "tcp";
    return "auto";
}

/** Host header values a sidecar's outbound route for this service and port matches. */
export function routeDomains(service: K8sObject, port: number, callerNamespace: string): string[] {
    const name = service.metadata.name!;
    const ns = service.metadata.namespace!;
    const names = [`${name}.${ns}.svc.cluster.local`, `${name}.${ns}.svc`, `${name}.${ns}`];
    if (ns === callerNamespace) names.push(name);
    return names.flatMap((n) => [n, `${n}:${port}`]);
}

/** Where a caller's sidecar sends an HTTP request for `servicePort` of some Service, given its Host. */
export function routeByHost(
    view: ClusterView,
    callerNamespace: string,
    port: number,
    host: string,
): { service: K8sObject } | { passthrough: true } {
    const h = host.toLowerCase();
    for (const s of view.objects.filter((o) => o.kind === "Service")) {
        const sp = (s.spec.ports ?? []).find((p: any) => p.port === port);
        if (sp && portProtocol(sp) !== "tcp" && routeDomains(s, port, callerNamespace).includes(h))
            return { service: s };
    }
    // No virtual host matches: Istio's allow_any route (PassthroughCluster) sends it on, in plain text.
    return { passthrough: true };
}

const hostMatches = (pattern: string, host: string) =>
    pattern === host || (pattern.startsWith("*") && host.endsWith(pattern.slice(1)));

/** The DestinationRule that applies to a host for a caller (caller's namespace, then the host's, then the root). */
export function destinationRule(view: ClusterView, callerNamespace: string, host: string): K8sObject | undefined {
    const rules = view.objects.filter((o) => o.kind === "DestinationRule");
    const hostNs = host.split(".")[1];
    for (const ns of [callerNamespace, hostNs, ROOT_NAMESPACE]) {
        const found = rules.find((r) => r.metadata.namespace === ns && hostMatches(r.spec.host, host));
        if (found) return found;
    }
    return undefined;
}

/** Whether a proxy's connection to `host` is Istio mTLS (DestinationRule ISTIO_MUTUAL, or auto mTLS to a proxy). */
export function sendsMtls(view: ClusterView, callerNamespace: string, host: string, destination: Pod): boolean {
    const mode = destinationRule(view, callerNamespace, host)?.spec.trafficPolicy?.tls?.mode;
    if (mode === "ISTIO_MUTUAL") return true;
    if (mode === "DISABLE" || mode === "SIMPLE" || mode === "MUTUAL") return false;
    return !!destination.proxy;
}

/** The PeerAuthentication mode of a pod's port. */
export function inboundMode(view: ClusterView, pod: Pod, port: number): "STRICT" | "PERMISSIVE" | "DISABLE" {
    const pas = view.objects.filter((o) => o.kind === "PeerAuthentication");
    const workload = pas.filter(
        (p) =>
            p.metadata.namespace === pod.namespace && p.spec?.selector && selectorMatches(p.spec.selector, pod.labels),
    );
    const namespaceWide = pas.filter((p) => p.metadata.namespace === pod.namespace && !p.spec?.selector);
    const meshWide = pas.filter((p) => p.metadata.namespace === ROOT_NAMESPACE && !p.spec?.selector);
    for (const p of workload) {
        const m = p.spec.portLevelMtls?.[String(port)]?.mode;
        if (m && m !== "UNSET") return m;
    }
    for (const p of [...workload, ...namespaceWide, ...meshWide]) {
        const m = p.spec?.mtls?.mode;
        if (m && m !== "UNSET") return m;
    }
    return "PERMISSIVE";
}

/** Policies of `kind` that apply to a pod: its namespace's and the root namespace's, by selector. */
function applying(view: ClusterView, kind: string, pod: Pod): K8sObject[] {
    return view.objects.filter(
        (o) =>
            o.kind === kind &&
            (o.metadata.namespace === pod.namespace || o.metadata.namespace === ROOT_NAMESPACE) &&
            (!o.spec?.selector || selectorMatches(o.spec.selector, pod.labels)),
    );
}

// ---- User tokens ----------------------------------------------------------------------------

/** A JWT as the model sees it: who issued it, for whom, and the public key its signature verifies with. */
export interface Token {
    iss: string;
    sub: string;
    aud: string[];
    kid: string;
    /** Public key (JWK) that verifies its signature. */
    key: { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string };
}

/** The public JWK of a PEM key (private or public). */
export function publicJwk(pem: string): Token["key"] {
    return createPublicKey(pem).export({ format: "jwk" }) as Token["key"];
}

const sameKey = (a: Token["key"], b: any) =>
    a.kty === b.kty && a.n === b.n && a.e === b.e && a.crv === b.crv && a.x === b.x && a.y === b.y;

/** RequestAuthentication: the request principal of a valid token, none without one, or a refusal (401). */
export function authenticate(
    view: ClusterView,
    pod: Pod,
    token?: Token,
): { requestPrincipal?: string } | { refused: string } {
    if (!token) return {};
    const rules = applying(view, "RequestAuthentication", pod).flatMap((r) => r.spec.jwtRules ?? []);
    if (rules.length === 0) return {}; // nobody reads the token: no request principal
    const rule = rules.find((r: any) => r.issuer === token.iss);
    if (!rule) return { refused: `401: no jwtRule for issuer ${token.iss}` };
    if (!rule.jwks) return { refused: `401: jwtRule for ${token.iss} has no inline jwks the model can read` };
    const keys: any[] = JSON.parse(rule.jwks).keys ?? [];
    if (!keys.some((k) => (k.kid === undefined || k.kid === token.kid) && sameKey(token.key, k)))
        return { refused: `401: the token's signing key (kid ${token.kid}) is not in the jwks for ${token.iss}` };
    if (rule.audiences?.length && !token.aud.some((a) => rule.audiences.includes(a)))
        return { refused: `401: audience ${token.aud.join(",")} not in ${rule.audiences.join(",")}` };
    return { requestPrincipal: `${token.iss}/${token.sub}` };
}

// ---- Authorisation --------------------------------------------------------------------------

export interface AuthzRequest {
    /** The caller's principal (mTLS peer identity), absent for plain text. */
    principal?: string;
    requestPrincipal?: string;
    /** Source address (downstream connection). */
    ip?: string;
    port: number;
    /** HTTP requests only. */
    path?: string;
    method?: string;
}

/** Istio string match: exact, "prefix*", "*suffix", or "*" (any non-empty value). */
const strMatch = (pattern: string, value: string | undefined) =>
    value !== undefined &&
    value !== "" &&
    (pattern === "*" ||
        pattern === value ||
        (pattern.endsWith("*") && value.startsWith(pattern.slice(0, -1))) ||
        (pattern.startsWith("*") && value.endsWith(pattern.slice(1))));
const anyOf = (patterns: string[] | undefined, value: string | undefined) =>
    patterns === undefined || patterns.some((p) => strMatch(p, value));
const noneOf = (patterns: string[] | undefined, value: string | undefined) =>
    patterns === undefined || !patterns.some((p) => strMatch(p, value));

function ipIn(ip: string | undefined, blocks: string[], inCidr: (ip: string, cidr: string) => boolean) {
    return ip !== undefined && blocks.some((b) => (b.includes("/") ? inCidr(ip, b) : b === ip));
}

function ruleMatches(rule: any, r: AuthzRequest, inCidr: (ip: string, cidr: string) => boolean): boolean {
    const namespaceOf = (p?: string) => p?.match(/\/ns\/([^/]+)\//)?.[1];
    const fromOk =
        !rule.from ||
        (rule.from as any[]).some(({ source: s = {} }) => {
            return (
                anyOf(s.principals, r.principal) &&
                noneOf(s.notPrincipals, r.principal) &&
                anyOf(s.requestPrincipals, r.requestPrincipal) &&
                noneOf(s.notRequestPrincipals, r.requestPrincipal) &&
                anyOf(s.namespaces, namespaceOf(r.principal)) &&
                noneOf(s.notNamespaces, namespaceOf(r.principal)) &&
                (s.ipBlocks === undefined || ipIn(r.ip, s.ipBlocks, inCidr)) &&
                (s.notIpBlocks === undefined || !ipIn(r.ip, s.notIpBlocks, inCidr))
            );
        });
    const httpOnly = (op: any) =>
        ["paths", "notPaths", "methods", "notMethods", "hosts", "notHosts"].some((k) => op[k] !== undefined);
    const toOk =
        !rule.to ||
        (rule.to as any[]).some(({ operation: op = {} }) => {
            if (r.path === undefined && httpOnly(op)) return false; // HTTP-only fields never match TCP
            return (
                anyOf(op.ports, String(r.port)) &&
                noneOf(op.notPorts, String(r.port)) &&
                anyOf(op.paths, r.path) &&
                noneOf(op.notPaths, r.path) &&
                anyOf(op.methods, r.method ?? "GET") &&
                noneOf(op.notMethods, r.method ?? "GET")
            );
        });
    return fromOk && toOk && !rule.when; // conditions are not modelled: a rule with `when` never matches
}

/** The AuthorizationPolicy verdict of a pod's sidecar for a request. */
export function authorize(
    view: ClusterView,
    pod: Pod,
    r: AuthzRequest,
    inCidr: (ip: string, cidr: string) => boolean,
): { ok: true } | { ok: false; why: string } {
    const policies = applying(view, "AuthorizationPolicy", pod);
    const action = (p: K8sObject) => p.spec?.action ?? "ALLOW";
    for (const p of policies.filter((x) => action(x) === "DENY"))
        if ((p.spec.rules ?? []).some((rule: any) => ruleMatches(rule, r, inCidr)))
            return { ok: false, why: `403: DENY policy ${p.metadata.namespace}/${p.metadata.name}` };
    const allows = policies.filter((x) => action(x) === "ALLOW");
    if (allows.length === 0) return { ok: true };
    if (allows.some((p) => (p.spec?.rules ?? []).some((rule: any) => ruleMatches(rule, r, inCidr))))
        return { ok: true };
    return {
        ok: false,
        why: `403: no ALLOW rule of ${allows.map((p) => p.metadata.name).join(", ")} matches ${JSON.stringify(r)}`,
    };
}

// ---- Routes at the ingress gateway ----------------------------------------------------------

export interface GatewayRoute {
    service: K8sObject;
    port: number;
    /** The path the backend receives (after a rewrite). */
    path: string;
    /** Istio Gateway / Ingress TLS serves the host over HTTPS. */
    https: boolean;
}

/**
 * Where the ingress gateway sends a request for host + path (Kubernetes Ingress of class istio, or a
 * VirtualService on a Gateway), or the status it answers itself (a direct response).
 */
export function gatewayRoute(
    view: ClusterView,
    host: string,
    path: string,
): GatewayRoute | { answered: number } | undefined {
    const findService = (ns: string, name: string) =>
        view.objects.find((o) => o.kind === "Service" && o.metadata.namespace === ns && o.metadata.name === name);
    const prefixMatch = (prefix: string) =>
        prefix === "/" || path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
    // Kubernetes Ingress (class istio): the longest matching path wins.
    for (const ing of view.objects.filter((o) => o.kind === "Ingress" && o.spec.ingressClassName === "istio")) {
        for (const rule of ing.spec.rules ?? []) {
            if (rule.host !== host) continue;
            const best = [...(rule.http?.paths ?? [])]
                .filter((p: any) => prefixMatch(p.path))
                .sort((a: any, b: any) => b.path.length - a.path.length)[0];
            if (!best) continue;
            const svc = findService(ing.metadata.namespace!, best.backend.service.name);
            if (!svc) return undefined;
            const https = (ing.spec.tls ?? []).some((t: any) => (t.hosts ?? []).includes(host));
            return { service: svc, port: best.backend.service.port.number, path, https };
        }
    }
    // VirtualServices bound to a Gateway that serves the host.
    const gateways = view.objects.filter((o) => o.kind === "Gateway");
    for (const vs of view.objects.filter((o) => o.kind === "VirtualService" && (o.spec.gateways ?? []).length > 0)) {
        if (!(vs.spec.hosts ?? []).includes(host)) continue;
        for (const route of vs.spec.http ?? []) {
            // Istio takes the first route with a matching request (uri prefix, exact or regex).
            const m = (route.match ?? [{}]).find((x: any) =>
                x.uri?.prefix !== undefined
                    ? path.startsWith(x.uri.prefix)
                    : x.uri?.exact !== undefined
                      ? path === x.uri.exact
                      : x.uri?.regex !== undefined
                        ? new RegExp(`^(?:${x.uri.regex})$`).test(path)
                        : true,
            );
            if (!m) continue;
            if (route.directResponse) return { answered: route.directResponse.status };
            const dest = route.route?.[0]?.destination;
            if (!dest) continue;
            const [name, ns] = String(dest.host).split(".");
            const svc = findService(ns, name);
            if (!svc) return undefined;
            const rewritten =
                route.rewrite?.uri !== undefined && m.uri?.prefix
                    ? route.rewrite.uri + path.slice(m.uri.prefix.length)
                    : path;
            const serving = gateways.filter((g) =>
                (vs.spec.gateways as string[]).includes(`${g.metadata.namespace}/${g.metadata.name}`),
            );
            const https = serving.some((g) =>
                (g.spec.servers ?? []).some(
                    (s: any) =>
                        s.port?.protocol === "HTTPS" && (s.hosts ?? []).some((h: string) => hostMatches(h, host)),
                ),
            );
            return { service: svc, port: dest.port.number, path: rewritten.replace(/^\/\//, "/"), https };
        }
    }
    return undefined;
}

// ---- Cross-network --------------------------------------------------------------------------

/** The east-west gateway passes mTLS for *.local through to the pods (AUTO_PASSTHROUGH on 15443). */
export function eastWestPassthrough(view: ClusterView): boolean {
    return view.objects.some(
        (g) =>
            g.kind === "Gateway" &&
            g.spec.selector?.istio === "eastwestgateway" &&
            (g.spec.servers ?? []).some(
                (s: any) =>
                    s.port?.number === 15443 &&
                    s.tls?.mode === "AUTO_PASSTHROUGH" &&
                    (s.hosts ?? []).includes("*.local"),
            ),
    );
}

/** Hosts istiod keeps to their own cluster (meshConfig.serviceSettings clusterLocal): no other region reaches them. */
export function clusterLocal(view: ClusterView, host: string): boolean {
    const istiod = view.releases.find((r) => r.chart === "istiod");
    const settings: any[] = istiod?.values?.meshConfig?.serviceSettings ?? [];
    return settings.some((s) => s.settings?.clusterLocal && (s.hosts ?? []).some((h: string) => hostMatches(h, host)));
}

/** Whether a DestinationRule lets callers fail over to other regions (locality load balancing with outlier detection). */
export function failsOver(view: ClusterView, host: string): boolean {
    const dr = destinationRule(view, host.split(".")[1], host);
    const lb = dr?.spec.trafficPolicy?.loadBalancer?.localityLbSetting;
    return !!lb?.enabled && !!dr?.spec.trafficPolicy?.outlierDetection;
}
