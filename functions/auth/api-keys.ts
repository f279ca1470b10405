import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';

export type Role = 'user' | 'admin';

/** Who an API key speaks for. */
export interface KeyHolder {
  owner: string;
  role: Role;
}

export interface ApiKeyInfo extends KeyHolder {
  id: string;
  prefix: string;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** `lh_` and 32 random bytes, base64url: 256 bits, so a fast keyed hash is enough (no brute force to slow down). */
const KEY_PATTERN = /^lh_[A-Za-z0-9_-]{43}$/;
/** `lh_` and 8 characters (48 bits): finds the row; the hash decides. */
const PREFIX_LENGTH = 11;
/** last_used_at is a hint for operators, not an audit log: one write a minute per key is plenty. */
const TOUCH_INTERVAL_MS = 60_000;

const COLUMNS = `id, prefix, owner, role, name, created_at AS "createdAt", last_used_at AS "lastUsedAt",
  revoked_at AS "revokedAt"`;

/**
 * API keys, stored as HMAC-SHA256(pepper, key) only. The pepper is a secret setting (API_KEY_PEPPER, in Key Vault
 * when deployed), so a copy of the table alone cannot confirm a guessed key.
 */
export class ApiKeyStore {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly pepper: () => Promise<string | undefined>,
  ) {}

  /** Creates a key; the returned `key` is the only time it is ever seen. */
  async create(holder: KeyHolder & { name?: string }): Promise<{ key: string; info: ApiKeyInfo }> {
    const key = `lh_${randomBytes(32).toString('base64url')}`;
    const { rows } = await this.pool.query<ApiKeyInfo>(
      `INSERT INTO api_keys (id, prefix, hash, owner, role, name) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${COLUMNS}`,
      [
        randomUUID(),
        key.slice(0, PREFIX_LENGTH),
        await this.hash(key),
        holder.owner,
        holder.role,
        holder.name ?? null,
      ],
    );
    return { key, info: rows[0] };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<ApiKeyInfo>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at`);
    return rows;
  }

  /** Revokes a key at once; false when there is no such unrevoked key. */
  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`,
      [id],
    );
    return rowCount === 1;
  }

  /** The holder of a valid, unrevoked key; undefined for anything else, whatever was wrong with it. */
  async authenticate(key: string): Promise<KeyHolder | undefined> {
    if (!KEY_PATTERN.test(key)) return undefined;
    const { rows } = await this.pool.query<{ id: string; hash: string; owner: string; role: Role }>(
      `SELECT id, hash, owner, role FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL`,
      [key.slice(0, PREFIX_LENGTH)],
    );
    const presented = Buffer.from(await this.hash(key), 'hex');
    const match = rows.find((row) => {
      const stored = Buffer.from(row.hash, 'hex');
      return stored.length === presented.length && timingSafeEqual(stored, presented);
    });
    if (!match) return undefined;
    await this.touch(match.id);
    return { owner: match.owner, role: match.role };
  }

  private async touch(id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return;
    this.touched.set(id, now);
    await this.pool.query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }

  private async hash(key: string): Promise<string> {
    const pepper = await this.pepper();
    if (!pepper) throw new Error('Setting API_KEY_PEPPER: required to hash API keys');
    return createHmac('sha256', pepper).update(key).digest('hex');
  }
}
