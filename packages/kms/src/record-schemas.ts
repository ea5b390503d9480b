/**
 * zod schemas for what crosses the ports (ARCHITECTURE rule 4): names, key ids and the stored
 * records. Shared by every `KeyStore` / `RootKeyProvider` implementation so they all
 * accept and refuse the same input (`kms.input.invalid`).
 */
import { parseInput } from '@omt/core/input';
import { z } from 'zod';
import type {
  KeyGrant,
  ObjectSecretRecord,
  RewrapJob,
  StoredKey,
  StoredKeyPatch,
  TenantRecord,
} from './ports.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const NO_CONTROL_RE = /^[^\u0000-\u001f\u007f]+$/;
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ROOT_KEY_ID_RE = /^[A-Za-z0-9._:/-]{1,256}$/;
const OBJECT_REF_RE = /^[A-Za-z0-9_-]{22}$/;
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** A tenant name: lower-case letters, digits, `.`, `_`, `-`; 1–64 characters. */
export const TenantNameSchema: z.ZodString = z.string().regex(NAME_RE, 'tenant: [a-z0-9][a-z0-9._-]{0,63}');

// Cheap predicates with exactly the rules of the schemas below, for hot paths (kms.ts, envelope.ts)
// that check first and fall back to the schema only to report what is wrong.
/** True when {@link TenantNameSchema} (and {@link ServiceNameSchema}) accept `v`. */
export const isTenantOrServiceName = (v: unknown): v is string => typeof v === 'string' && NAME_RE.test(v);
/** True when {@link ObjectIdSchema} accepts `v`. */
export const isObjectId = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= 1024 && NO_CONTROL_RE.test(v);
/** True when {@link PrincipalSchema} accepts `v`. */
export const isPrincipal = (v: unknown): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= 256 && NO_CONTROL_RE.test(v);
/** True when {@link RootKeyIdSchema} accepts `v`. */
export const isRootKeyId = (v: unknown): v is string => typeof v === 'string' && ROOT_KEY_ID_RE.test(v);
/** True when {@link ObjectRefSchema} accepts `v`. */
export const isObjectRef = (v: unknown): v is string => typeof v === 'string' && OBJECT_REF_RE.test(v);
/** A service name (same alphabet as tenants), e.g. `media`, `payments`. */
export const ServiceNameSchema: z.ZodString = z.string().regex(NAME_RE, 'service: [a-z0-9][a-z0-9._-]{0,63}');
/** An L1 key id as providers use them (ARNs, resource names and PKCS#11 labels fit). */
export const RootKeyIdSchema: z.ZodString = z
  .string()
  .regex(ROOT_KEY_ID_RE, 'key id: [A-Za-z0-9._:/-]{1,256}');
/** A caller's object id (encryption context): 1–1024 characters, no control characters. */
export const ObjectIdSchema: z.ZodString = z
  .string()
  .min(1)
  .max(1024)
  .regex(NO_CONTROL_RE, 'no control characters');
/** A principal named in grants and calls; `*` means anyone. */
export const PrincipalSchema: z.ZodString = z
  .string()
  .min(1)
  .max(256)
  .regex(NO_CONTROL_RE, 'no control characters');
/** RFC 3339 UTC time. */
export const TimeSchema: z.ZodString = z.string().regex(TIME_RE, 'RFC 3339 UTC time');

const bytes = (min: number, max: number) =>
  z
    .custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array')
    .refine((v) => v.length >= min && v.length <= max, `expected ${min}–${max} bytes`);

/** A plaintext key handed to `RootKeyProvider.wrap`: 16–64 bytes. */
export const PlaintextKeySchema: z.ZodType<Uint8Array> = bytes(16, 64);
/** Additional authenticated data for L1 calls: 0–4096 bytes. */
export const AadSchema: z.ZodType<Uint8Array> = bytes(0, 4096);
/** A wrapped blob (opaque): 0–4096 bytes (providers reject bad ones with `kms.unwrap.failed`). */
export const WrappedBlobSchema: z.ZodType<Uint8Array> = bytes(0, 4096);

const keyStateSchema = z.enum(['active', 'decrypt-only', 'retired', 'destroyed']);
const versionSchema = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);
const serviceOrEmpty = z.union([z.literal(''), ServiceNameSchema]);

export const StoredKeySchema: z.ZodType<StoredKey> = z
  .object({
    tenant: TenantNameSchema,
    service: serviceOrEmpty,
    level: z.union([z.literal(2), z.literal(3)]),
    version: versionSchema,
    state: keyStateSchema,
    wrappedBy: z.string().min(1).max(256).regex(NO_CONTROL_RE),
    wrapped: bytes(0, 4096),
    createdAt: TimeSchema,
    updatedAt: TimeSchema,
  })
  .strict()
  .refine(
    (k) => (k.level === 2) === (k.service === ''),
    'level 2 keys have service "", level 3 keys a service',
  );

export const StoredKeyPatchSchema: z.ZodType<StoredKeyPatch> = z
  .object({
    state: keyStateSchema.optional(),
    wrappedBy: z.string().min(1).max(256).regex(NO_CONTROL_RE).optional(),
    wrapped: bytes(0, 4096).optional(),
    updatedAt: TimeSchema,
  })
  .strict();

export const TenantRecordSchema: z.ZodType<TenantRecord> = z
  .object({
    tenant: TenantNameSchema,
    rootKeyId: RootKeyIdSchema,
    state: z.enum(['enabled', 'revoked']),
    createdAt: TimeSchema,
    updatedAt: TimeSchema,
  })
  .strict();

export const KeyGrantSchema: z.ZodType<KeyGrant> = z
  .object({
    tenant: TenantNameSchema,
    service: z.union([z.literal('*'), ServiceNameSchema]),
    principal: PrincipalSchema,
    operations: z
      .array(z.enum(['encrypt', 'decrypt']))
      .min(1)
      .max(2),
    createdAt: TimeSchema,
  })
  .strict();

/** The reference of a shreddable object's secret: 16 random bytes, base64url. */
export const ObjectRefSchema: z.ZodString = z.string().regex(OBJECT_REF_RE, '22 base64url characters');

export const ObjectSecretRecordSchema: z.ZodType<ObjectSecretRecord> = z
  .object({
    tenant: TenantNameSchema,
    service: ServiceNameSchema,
    objectId: ObjectIdSchema,
    ref: ObjectRefSchema,
    state: z.enum(['active', 'destroyed']),
    secret: bytes(0, 64),
    createdAt: TimeSchema,
    updatedAt: TimeSchema,
  })
  .strict();

export const RewrapJobSchema: z.ZodType<RewrapJob> = z
  .object({
    id: z.string().min(1).max(256).regex(NO_CONTROL_RE),
    tenant: TenantNameSchema,
    kind: z.literal('tenant'),
    fromVersion: versionSchema,
    toVersion: versionSchema,
    state: z.enum(['running', 'done']),
    cursor: z.string().max(256),
    createdAt: TimeSchema,
    updatedAt: TimeSchema,
  })
  .strict();

/** Parses port input, failing with `kms.input.invalid`. */
export function parseKmsInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  return parseInput(schema, value, 'kms.input.invalid', what);
}

/** Parses the (tenant, service, version) triple of key lookups. */
export function parseKeyLocator(tenant: unknown, service: unknown, version?: unknown): void {
  parseKmsInput(TenantNameSchema, tenant, 'tenant');
  parseKmsInput(serviceOrEmpty, service, 'service');
  if (version !== undefined) parseKmsInput(versionSchema, version, 'version');
}
