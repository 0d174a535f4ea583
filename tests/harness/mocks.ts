// Pulumi mocks that answer as the real providers would, closely enough for the program's logic:
// auto-named objects get a random suffix, Services get cluster addresses, Helm releases report
// "deployed", random and TLS resources return values, stack references return what the test says
// the peer published.
import * as pulumi from "@pulumi/pulumi";
import { createHash, generateKeyPairSync } from "node:crypto";

const digest = (s: string, n = 8) => createHash("sha256").update(s).digest("hex").slice(0, n);

/** The PEM the mocks return for a TLS resource's output (`kind` e.g. "PRIVATE KEY"), so tests can tell whose key it is. */
export const mockPem = (stack: string, resourceName: string, kind: string) =>
    `-----BEGIN ${kind}-----\nMOCK${digest(stack + resourceName + kind, 40)}\n-----END ${kind}-----\n`;

export interface MockOptions {
    /** Outputs of peer stacks, by fully qualified stack name; a missing stack has no outputs. */
    stackOutputs?: Record<string, Record<string, unknown>>;
}

function k8sState(type: string, name: string, inputs: any): any {
    const state = { ...inputs };
    const metadata = { ...(inputs.metadata ?? {}) };
    const clusterScoped =
        /:(Namespace|StorageClass|PersistentVolume|ClusterRole|ClusterRoleBinding|CustomResourceDefinition|ClusterIssuer|PriorityClass)$/.test(
            type,
        );
    if (!metadata.name) metadata.name = `${name}-${digest(type + name)}`;
    if (!metadata.namespace && !clusterScoped && !type.startsWith("kubernetes:helm.sh")) metadata.namespace = "default";
    metadata.uid = digest(`${type}/${metadata.namespace}/${metadata.name}`, 32);
    state.metadata = metadata;
    if (type === "kubernetes:core/v1:Service") {
        const n = parseInt(digest(metadata.name, 4), 16);
        state.spec = { ...inputs.spec, clusterIP: `10.96.${(n >> 8) % 256}.${n % 256}` };
        if (inputs.spec?.type === "LoadBalancer")
            state.status = { loadBalancer: { ingress: [{ ip: `203.0.113.${(n % 250) + 1}` }] } };
    }
    return state;
}

/** Keys this process generated, by stack, resource and algorithm: a resource keeps its key across the
 * variants of a stack this worker evaluates (as a real provider keeps it across updates); no test relies
 * on it, since two workers generate their own. */
const keys = new Map<string, Record<string, string>>();

/**
 * A real key pair where the program reads the key (signing keys whose public half it publishes as a
 * JWKS): RSA up to 2048 bits and ECDSA. Larger RSA keys (the mesh CAs, which nothing in the program
 * parses) keep the placeholder PEM: generating them would cost a second per stack evaluation.
 */
function realKey(inputs: any): Record<string, string> {
    const algorithm = inputs.algorithm ?? "RSA";
    if (algorithm === "RSA" && (inputs.rsaBits ?? 2048) > 2048) return {};
    const pair =
        algorithm === "ECDSA"
            ? generateKeyPairSync("ec", { namedCurve: inputs.ecdsaCurve === "P384" ? "P-384" : "P-256" })
            : algorithm === "RSA"
              ? generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 })
              : undefined;
    if (!pair) return {};
    const pkcs8 = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const traditional =
        algorithm === "RSA" ? pair.privateKey.export({ type: "pkcs1", format: "pem" }).toString() : pkcs8;
    return {
        privateKeyPem: traditional,
        privateKeyPemPkcs8: pkcs8,
        publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    };
}

export class PlatformMocks implements pulumi.runtime.Mocks {
    /** The real private keys this evaluation generated, by resource name (as the provider's state holds them). */
    readonly generatedKeys: Record<string, string[]> = {};

    constructor(private readonly options: MockOptions = {}) {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const { type, name, inputs } = args;
        if (type === "pulumi:pulumi:StackReference") {
            const outputs = this.options.stackOutputs?.[inputs.name] ?? {};
            return { id: inputs.name, state: { name: inputs.name, outputs, secretOutputNames: [] } };
        }
        if (type === "kubernetes:helm.sh/v3:Release") {
            const releaseName = inputs.name ?? `${name}-${digest(name)}`;
            return {
                id: `${inputs.namespace ?? "default"}/${releaseName}`,
                state: {
                    ...inputs,
                    name: releaseName,
                    status: {
                        name: releaseName,
                        namespace: inputs.namespace,
                        chart: inputs.chart,
                        version: inputs.version,
                        status: "deployed",
                        revision: 1,
                    },
                },
            };
        }
        if (type === "kubernetes:core/v1:ConfigMap" && args.id?.endsWith("/kube-root-ca.crt")) {
            // A read of the cluster CA bundle every namespace carries.
            const [namespace, configMap] = args.id.split("/");
            return {
                id: args.id,
                state: {
                    apiVersion: "v1",
                    kind: "ConfigMap",
                    metadata: { name: configMap, namespace },
                    data: {
                        "ca.crt": `-----BEGIN CERTIFICATE-----\nMOCKCLUSTERCA${digest(pulumi.getStack())}\n-----END CERTIFICATE-----\n`,
                    },
                },
            };
        }
        if (type.startsWith("kubernetes:")) {
            const state = k8sState(type, name, inputs);
            const id = state.metadata?.namespace
                ? `${state.metadata.namespace}/${state.metadata.name}`
                : (state.metadata?.name ?? name);
            return { id, state };
        }
        if (
            type === "random:index/randomPassword:RandomPassword" ||
            type === "random:index/randomString:RandomString"
        ) {
            const length = inputs.length ?? 16;
            const result = createHash("sha512")
                .update(`${pulumi.getStack()}/${name}`)
                .digest("base64")
                .replace(/[^A-Za-z0-9]/g, "")
                .slice(0, length);
            return { id: `${name}-id`, state: { ...inputs, result, bcryptHash: `$2a$10$${digest(result, 53)}` } };
        }
        if (type === "random:index/randomId:RandomId") {
            const hex = digest(`${pulumi.getStack()}/${name}`, (inputs.byteLength ?? 8) * 2);
            return { id: hex, state: { ...inputs, hex, b64Url: Buffer.from(hex, "hex").toString("base64url") } };
        }
        if (type.startsWith("tls:")) {
            const pem = (kind: string) => mockPem(pulumi.getStack(), name, kind);
            return {
                id: `${name}-id`,
                state: {
                    ...inputs,
                    privateKeyPem: pem("PRIVATE KEY"),
                    privateKeyPemPkcs8: pem("PRIVATE KEY"),
                    publicKeyPem: pem("PUBLIC KEY"),
                    certPem: pem("CERTIFICATE"),
                    certRequestPem: pem("CERTIFICATE REQUEST"),
                    ...(type === "tls:index/privateKey:PrivateKey" ? this.realKey(name, inputs) : {}),
                },
            };
        }
        return { id: `${name}-id`, state: { ...inputs } };
    }

    private realKey(name: string, inputs: any): Record<string, string> {
        const id = [pulumi.getStack(), name, inputs.algorithm, inputs.rsaBits, inputs.ecdsaCurve].join("/");
        const key = keys.get(id) ?? realKey(inputs);
        keys.set(id, key);
        if (key.privateKeyPem) this.generatedKeys[name] = [key.privateKeyPem, key.privateKeyPemPkcs8];
        return key;
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        return args.inputs;
    }
}
