/**
 * `omt.manifest/v1`: the editorial workflow of a media manifest (a C2PA manifest's hash and its
 * asset), one chain per asset (e.g. `manifest:<asset id>`).
 *
 * ```
 * none ─draft→ draft ─submitForReview→ inReview ─review→ reviewed ─publish→ published ─revoke→ revoked
 *              ↺ revise  ←─requestChanges─┘                ↺ approveLegal, approveCompliance
 * ```
 *
 * - `draft` / `revise` (the editor): manifest hash and asset URI.
 * - `submitForReview` (editor) names a reviewer other than the editor; `review` (that reviewer)
 *   passes it, `requestChanges` (reviewer) sends it back to draft.
 * - `approveLegal` (authority `legal`) and `approveCompliance` (authority `compliance`), each once,
 *   in either order, for the reviewed manifest hash.
 * - `publish` (editor) only once both approvals are present.
 * - `revoke` (the editor, `legal` or `compliance`) with a reason.
 *
 * Every step after the draft names the manifest hash it is about, so a signature never covers
 * a manifest its signer has not seen.
 */
import * as z from 'zod/mini';
import { PartyKeyIdSchema } from './event.js';
import { defineMachine, type MachineDefinition } from './machine.js';

/** The id of the manifest machine. */
export const MANIFEST_MACHINE_ID = 'omt.manifest/v1' as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const NO_CONTROL_RE = /^[^\u0000-\u001f\u007f]*$/;
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(NO_CONTROL_RE));
const hash = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'a hex SHA-256'));
const uri = z
  .string()
  .check(z.maxLength(2048), z.regex(/^(?:https:\/\/|urn:|ipfs:\/\/)[!-~]+$/, 'an https:, urn: or ipfs: URI'));

const editor = { role: 'editor', from: 'ctx.editor' } as const;
const reviewer = { role: 'reviewer', from: 'ctx.reviewer' } as const;
const sameManifest = {
  equal: ['payload.manifestHash', 'ctx.manifestHash'],
  message: 'not the current manifest',
} as const;
const onlyHash = z.strictObject({ manifestHash: hash });

/**
 * The manifest workflow machine (see the file header).
 * @example
 * ```ts
 * const r = await applyEvent(MANIFEST_MACHINE, state, event, { authorities: { legal, compliance } });
 * ```
 */
export const MANIFEST_MACHINE: MachineDefinition = /* @__PURE__ */ defineMachine({
  id: MANIFEST_MACHINE_ID,
  title: 'Media manifest editorial workflow',
  states: ['none', 'draft', 'inReview', 'reviewed', 'published', 'revoked'],
  initial: 'none',
  terminal: ['revoked'],
  authorities: ['legal', 'compliance'],
  events: {
    draft: {
      from: ['none'],
      to: 'draft',
      payload: z.strictObject({
        editor: PartyKeyIdSchema,
        manifestHash: hash,
        assetUri: uri,
        title: z.optional(text(512)),
      }),
      signers: [{ role: 'editor', from: 'payload.editor' }],
      assign: {
        editor: 'payload.editor',
        manifestHash: 'payload.manifestHash',
        assetUri: 'payload.assetUri',
      },
    },
    revise: {
      from: ['draft'],
      to: 'draft',
      payload: z.strictObject({ manifestHash: hash, assetUri: uri }),
      signers: [editor],
      assign: {
        manifestHash: 'payload.manifestHash',
        assetUri: 'payload.assetUri',
        revisions: { increment: 1 },
      },
    },
    submitForReview: {
      from: ['draft'],
      to: 'inReview',
      payload: z.strictObject({ manifestHash: hash, reviewer: PartyKeyIdSchema }),
      signers: [editor],
      requires: [
        sameManifest,
        { differ: ['payload.reviewer', 'ctx.editor'], message: 'editors do not review themselves' },
      ],
      assign: { reviewer: 'payload.reviewer' },
    },
    requestChanges: {
      from: ['inReview'],
      to: 'draft',
      payload: z.strictObject({ manifestHash: hash, comment: text(4096) }),
      signers: [reviewer],
      requires: [sameManifest],
      assign: { reviewer: null },
    },
    review: {
      from: ['inReview'],
      to: 'reviewed',
      payload: z.strictObject({ manifestHash: hash, comment: z.optional(text(4096)) }),
      signers: [reviewer],
      requires: [sameManifest],
      assign: { reviewedAt: 'event.time' },
    },
    approveLegal: {
      from: ['reviewed'],
      to: 'reviewed',
      payload: onlyHash,
      signers: [{ role: 'legal', from: 'authority.legal' }],
      requires: [sameManifest, { absent: 'ctx.legalApprovedAt', message: 'legal has already approved' }],
      assign: { legalApprovedAt: 'event.time' },
    },
    approveCompliance: {
      from: ['reviewed'],
      to: 'reviewed',
      payload: onlyHash,
      signers: [{ role: 'compliance', from: 'authority.compliance' }],
      requires: [
        sameManifest,
        { absent: 'ctx.complianceApprovedAt', message: 'compliance has already approved' },
      ],
      assign: { complianceApprovedAt: 'event.time' },
    },
    publish: {
      from: ['reviewed'],
      to: 'published',
      payload: onlyHash,
      signers: [editor],
      requires: [
        sameManifest,
        { present: 'ctx.legalApprovedAt', message: 'legal approval is missing' },
        { present: 'ctx.complianceApprovedAt', message: 'compliance approval is missing' },
      ],
      assign: { publishedAt: 'event.time' },
    },
    revoke: {
      from: ['published'],
      to: 'revoked',
      payload: z.strictObject({ reason: text(1024) }),
      signers: [{ role: 'revoker', oneOf: ['ctx.editor', 'authority.legal', 'authority.compliance'] }],
      assign: { revokedAt: 'event.time', revocationReason: 'payload.reason' },
    },
  },
});
