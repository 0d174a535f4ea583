// The regions' bootstrap as the deploy workflow runs it, under mocks: each stack is evaluated with
// the stack outputs its peers really published in the earlier steps (never hand-written ones), and a
// reader token minted as the pipeline mints it. eu and asia first (no peer deployed), then us (the
// root's stack: it signs their requests), then eu again (it picks up its certificate).
import { PROJECT } from "../../config";
import { secretValue } from "../../config/files";
import { deployedStack, prefetch } from "./evaluate";
import { unsecret } from "./k8s";
import { ROOT, stackConfig } from "./stack-config";
import type { StackEvaluation } from "./types";

export const stackName = (region: string) => `acme/ecommerce-platform/${region}`;

const NOW = Math.floor(Date.now() / 1000);
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** A service account token as `kubectl create token` returns it (claims only; the signature is not checked offline). */
export function serviceAccountToken(
    subject: string,
    claims: { iat?: number; exp?: number | null; audience?: string } = {},
): string {
    const iat = claims.iat ?? NOW;
    const payload: Record<string, unknown> = {
        aud: [claims.audience ?? "https://kubernetes.default.svc"],
        iat,
        nbf: iat,
        iss: "https://kubernetes.default.svc",
        sub: subject,
        ...(claims.exp === null ? {} : { exp: claims.exp ?? iat + 7 * 24 * 3600 }),
    };
    return `${b64url({ alg: "RS256", kid: "mock" })}.${b64url(payload)}.${Buffer.from("signature").toString("base64url")}`;
}

/** A Redis Enterprise licence file's text as the tests give it (the format only; no real licence). */
export const TEST_LICENCE =
    "----- LICENSE START -----\nTESTONLYtestonlyTESTONLYtestonly0123456789abcdefTESTONLY==\n----- LICENSE END -----\n";

export const READER_SUBJECT = "system:serviceaccount:istio-system:istio-remote-reader";

/**
 * The region's Redis Enterprise settings with the licence set as a user sets it (the shipped files name
 * a Secret kept outside Pulumi instead): the program creates the licence Secret itself.
 */
export function licensedConfig(region: string) {
    const file = stackConfig(ROOT, region).config[`${PROJECT}:redisEnterprise`];
    const { licenseSecretName: _external, ...redisEnterprise } = JSON.parse(file ?? "{}") as Record<string, unknown>;
    return { redisEnterprise, redisEnterpriseLicense: secretValue(TEST_LICENCE) };
}

/**
 * Config overrides of a region's deploy: the reader token the pipeline mints, as a secret; and the
 * licence, as the user set it in the stack (licensedConfig).
 */
export const pipelineConfig = (region: string) => ({
    meshReaderToken: secretValue(serviceAccountToken(READER_SUBJECT, { audience: `peers-of-${region}` })),
    ...licensedConfig(region),
});

/** What a stack published for its peers (plain values, as a StackReference hands them over). */
export const publishedBy = (result: StackEvaluation) => ({
    publishedForPeers: unsecret(result.outputs.publishedForPeers),
});

const FIRST = ["eu", "asia"] as const;

/** Start the first step's evaluations now (call at a test file's top level). */
export const prefetchBootstrap = () =>
    prefetch(...FIRST.map((stack) => ({ stack, configOverrides: pipelineConfig(stack) })));

export interface Bootstrap {
    /** eu and asia deployed before any peer. */
    first: { eu: StackEvaluation; asia: StackEvaluation };
    /** us (the root's stack) deployed after them: it sees both. */
    owner: StackEvaluation;
    /** eu's second deploy: it sees us's signatures and asia. */
    linked: StackEvaluation;
    /** The stack outputs each step was given, by request. */
    inputs: { owner: Record<string, Record<string, unknown>>; linked: Record<string, Record<string, unknown>> };
}

let running: Promise<Bootstrap> | undefined;

/** Runs the steps once per test process and shares the result. */
export function bootstrap(): Promise<Bootstrap> {
    running ??= (async () => {
        const [eu, asia] = await Promise.all(
            FIRST.map((stack) => deployedStack(stack, { configOverrides: pipelineConfig(stack) })),
        );
        const ownerInputs = { [stackName("eu")]: publishedBy(eu), [stackName("asia")]: publishedBy(asia) };
        const owner = await deployedStack("us", { configOverrides: pipelineConfig("us"), stackOutputs: ownerInputs });
        const linkedInputs = { [stackName("us")]: publishedBy(owner), [stackName("asia")]: publishedBy(asia) };
        const linked = await deployedStack("eu", { configOverrides: pipelineConfig("eu"), stackOutputs: linkedInputs });
        return { first: { eu, asia }, owner, linked, inputs: { owner: ownerInputs, linked: linkedInputs } };
    })();
    return running;
}
