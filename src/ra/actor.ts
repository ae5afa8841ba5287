import { forbidden } from '../errors.js';
import type { Role } from '../store/schema.js';

/** The authenticated caller of an RA operation. */
export interface Actor {
  id: string;
  email: string;
  role: Role;
}

export function requireRole(actor: Actor, ...roles: Role[]): void {
  if (!roles.includes(actor.role)) {
    throw forbidden(`This action needs the ${roles.join(' or ')} role; you are signed in as ${actor.role}.`);
  }
}

/** Admins act on any tenant's instances; everyone else only on their own. */
export function canActOn(actor: Actor, ownerId: string): boolean {
  return actor.role === 'admin' || actor.id === ownerId;
}
